"""Server-rendered pages: the project list, the new-film form, the editor and the preview."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import Throttled

from core.access import Role
from core.errors import ApplicationError
from inference.styles import ASPECT_RATIOS, RESOLUTIONS
from projects import selectors, services
from projects.exports import exports_offered
from projects.forms import IdeaForm, ProjectForm, language_choices, style_choices, tier_choices
from projects.models import Member, Project
from projects.sharing import (
    link_create,
    link_list,
    link_path,
    link_project,
    link_revoke,
    member_list,
    member_remove,
    member_set,
)
from projects.stories import story_draft
from projects.throttles import NEW_PROJECT_THROTTLES
from projects.usage import usage_sum
from shots.candidates import MOST


@login_required
def project_list_page(request: HttpRequest) -> HttpResponse:
    projects = selectors.project_list(user=request.user).select_related("owner")[:200]
    return render(request, "projects/list.html", {"projects": projects})


@login_required
@require_http_methods(["GET", "POST"])
def project_new_page(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        refused = _over_quota(request)
        if refused:
            form.add_error(None, refused)
            return render(request, "projects/new.html", {"form": form, "idea": IdeaForm()}, status=429)
        data = {k: v for k, v in form.cleaned_data.items() if k != "story_file"}
        try:
            project, _ = services.project_create(owner=request.user, **data)  # type: ignore[arg-type]
        except Throttled as exc:  # the work's own limits, taken as it is made
            form.add_error(None, str(exc.detail))
            return render(request, "projects/new.html", {"form": form, "idea": IdeaForm()}, status=429)
        return redirect("project-editor-page", project.id)
    return render(request, "projects/new.html", {"form": form, "idea": IdeaForm()})


@login_required
@require_http_methods(["POST"])
def project_idea_page(request: HttpRequest) -> HttpResponse:
    """The new-film page's second form: the model writes the story from an idea into a new
    project, whose editor then shows the story being written."""
    idea = IdeaForm(request.POST)
    status = 400
    if idea.is_valid():
        refused = _over_quota(request)
        if not refused:
            try:
                project, _ = story_draft(owner=request.user, **idea.cleaned_data)
                return redirect("project-editor-page", project.id)
            except ApplicationError as exc:
                refused, status = exc.message, 409
            except Throttled as exc:
                refused, status = str(exc.detail), 429
        else:
            status = 429
        idea.add_error(None, refused)
    return render(request, "projects/new.html", {"form": ProjectForm(), "idea": idea}, status=status)


def _over_quota(request: HttpRequest) -> str:
    """Why the user may not make another project now (the API's limits hold for pages too)."""
    try:
        for throttle in NEW_PROJECT_THROTTLES:
            throttle().allow_request(request, None)
    except Throttled as exc:
        return str(exc.detail)
    return ""


@login_required
def gallery_page(request: HttpRequest) -> HttpResponse:
    """The image studio: pictures from a prompt outside any film, into the person's gallery
    (the page paints and lists them through the API: POST /api/v1/generate, GET /api/v1/images)."""
    context = {
        "tiers": tier_choices(),
        "default_tier": settings.IMAGE_TIER,
        "styles": style_choices(),
        "aspect_ratios": list(ASPECT_RATIOS),
        "resolutions": list(RESOLUTIONS),
        "most": MOST,
    }
    return render(request, "projects/gallery.html", context)


@login_required
def project_editor_page(request: HttpRequest, project_id: str) -> HttpResponse:
    project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
    role = selectors.project_role(user=request.user, project=project)
    if role < Role.EDITOR:
        return redirect("project-preview-page", project_id=project.pk)  # a viewer watches
    choices = {
        "styles": style_choices(),
        "aspect_ratios": list(ASPECT_RATIOS),
        "resolutions": list(RESOLUTIONS),
        "tiers": tier_choices(),
        "translate_languages": language_choices(),
    }
    return render(request, "projects/editor.html", {"project": project, "role": role.label, **choices})


@login_required
def project_preview_page(request: HttpRequest, project_id: str) -> HttpResponse:
    project = selectors.project_get(user=request.user, project_id=project_id, role=Role.VIEWER)
    role = selectors.project_role(user=request.user, project=project)
    context = {
        "project": project,
        "role": role.label,
        "downloads": exports_offered(),
        "clips_pending": bool(project.render_video) and not selectors.clips_stored(project),
        "link_hours": settings.MEDIA_URL_TTL_S // 3600,
        "usage": usage_sum(project.tasks.all()),
        "check": _check_for_page(project),
    }
    if role is Role.OWNER:
        links = [(link, request.build_absolute_uri(link_path(link))) for link in link_list(project=project)]
        context.update(members=member_list(project=project), links=links, member_roles=Member.Role.choices)
    return render(request, "projects/preview.html", context)


def _check_for_page(project: Project) -> dict[str, Any] | None:
    """The film check of the latest render, its findings in the reader's language."""
    check = (project.render_manifest or {}).get("check") if project.render_video else None
    if not check:
        return None

    def said(sentence: str, english: str, data: dict[str, Any]) -> str:
        try:
            return gettext(sentence) % data
        except (KeyError, TypeError, ValueError):  # a translation that lost a placeholder
            return english

    findings = [
        {**f, "text": said(f["says"], f["message"], f["data"]), "fix": said(f["does"], f["action"], f["data"])}
        for f in check["findings"]
    ]
    return {**check, "findings": findings}


@login_required
@require_http_methods(["POST"])
def project_sharing_page(request: HttpRequest, project_id: str) -> HttpResponse:
    """The preview page's sharing forms: share with a user, stop sharing, make or revoke a link."""
    project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
    action = request.POST.get("action")
    try:
        if action == "share":
            role = request.POST.get("role", "")
            if role not in Member.Role.values:
                raise ApplicationError(gettext("Choose viewer or editor."))
            member = member_set(project=project, username=request.POST.get("username", "").strip(), role=role)
            messages.success(request, gettext("Shared with %(user)s.") % {"user": member.user.get_username()})
        elif action == "unshare":
            member_remove(project=project, user_id=int(request.POST.get("user", "0")))
        elif action == "link":
            link_create(project=project, by=request.user)  # type: ignore[arg-type]
        elif action == "revoke":
            link_revoke(project=project, link_id=uuid.UUID(request.POST.get("link", "")))
        else:
            raise ApplicationError(gettext("Unknown action."))
    except ApplicationError as error:
        messages.error(request, error.message)
    except ValueError:
        messages.error(request, gettext("Unknown action."))
    return redirect("project-preview-page", project_id=project.pk)


def watch_page(request: HttpRequest, token: str) -> HttpResponse:
    """The film a read-only link opens, for anyone who has the link (no account)."""
    project = link_project(token)
    return render(request, "projects/watch.html", {"project": project})


@login_required
@require_http_methods(["POST"])
def project_duplicate_page(request: HttpRequest, project_id: str) -> HttpResponse:
    project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
    refused = _over_quota(request)  # a copy counts as a new project
    if refused:
        messages.error(request, refused)
        return redirect("project-list-page")
    copy = services.project_duplicate(project=project)
    messages.success(request, gettext("Made “%(title)s”.") % {"title": copy.title})
    return redirect("project-list-page")


@login_required
@require_http_methods(["POST"])
def project_delete_page(request: HttpRequest, project_id: str) -> HttpResponse:
    project = selectors.project_get(user=request.user, project_id=project_id, role=Role.OWNER)
    title = project.title
    services.project_delete(project=project)
    messages.success(request, gettext("Deleted “%(title)s”.") % {"title": title})
    return redirect("project-list-page")
