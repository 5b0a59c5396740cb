"""Sharing a project: with other users as viewers or editors, and by a read-only link.

A link's token is its row's id signed with the site's secret (``django.core.signing``), so a
token cannot be guessed or altered, and revoking the row makes every copy of it stop working.
"""

from __future__ import annotations

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit
from core.errors import ApplicationError
from projects.models import Member, Project, ShareLink
from tasks.live import access_changed_on_commit

LINK_SALT = "storyvideo.share-link"


def member_set(*, project: Project, username: str, role: str) -> Member:
    """Share the project with the user named ``username`` as ``role`` (or change their role)."""
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise ApplicationError(f"No user is called “{username}”.", field="username")
    if user.pk == project.owner_id:
        raise ApplicationError("That is the project's owner, who may already do everything.", field="username")
    member, _ = Member.objects.update_or_create(project=project, user=user, defaults={"role": role})
    audit("member_set", target=f"project {project.pk}", member=user.get_username(), role=role)
    return member


def member_list(*, project: Project) -> QuerySet[Member]:
    return Member.objects.filter(project=project).select_related("user").order_by("created_at")


def member_remove(*, project: Project, user_id: int) -> None:
    deleted, _ = Member.objects.filter(project=project, user_id=user_id).delete()
    if not deleted:
        raise ApplicationError("The project is not shared with that user.", code="not_found")
    audit("member_removed", target=f"project {project.pk}", member_id=user_id)
    media_links_renew(project=project)
    access_changed_on_commit(user_id=user_id)


def media_links_renew(*, project: Project) -> None:
    """The project's media links handed out so far stop working at once (a member removed, a
    link revoked: what they held must not go on opening); pages and the API sign new ones."""
    Project.objects.filter(pk=project.pk).update(media_generation=F("media_generation") + 1, updated_at=timezone.now())
    project.refresh_from_db(fields=["media_generation", "updated_at"])


def link_create(*, project: Project, by: AbstractBaseUser) -> ShareLink:
    link = ShareLink.objects.create(project=project, created_by_id=by.pk)
    audit("link_created", target=f"project {project.pk}", link=str(link.pk))
    return link


def link_token(link: ShareLink) -> str:
    return signing.dumps(str(link.id), salt=LINK_SALT, compress=False)


def link_path(link: ShareLink) -> str:
    """The path of the page that plays the film for whoever has the link."""
    return reverse("watch-page", kwargs={"token": link_token(link)})


def link_list(*, project: Project) -> QuerySet[ShareLink]:
    return ShareLink.objects.filter(project=project, revoked_at__isnull=True).order_by("-created_at")


def link_revoke(*, project: Project, link_id: uuid.UUID) -> None:
    with transaction.atomic():
        revoked = ShareLink.objects.filter(project=project, pk=link_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    if not revoked:
        raise ApplicationError("No such link, or it was already revoked.", code="not_found")
    audit("link_revoked", target=f"project {project.pk}", link=str(link_id))
    media_links_renew(project=project)


def link_project(token: str) -> Project:
    """The project a link's token opens, or 404 where the token is altered, unknown or revoked."""
    try:
        link_id = uuid.UUID(signing.loads(token, salt=LINK_SALT))
    except (signing.BadSignature, ValueError, TypeError):
        raise Http404("No such link.") from None
    link = ShareLink.objects.select_related("project").filter(pk=link_id, revoked_at__isnull=True).first()
    if link is None:
        raise Http404("This link was revoked or never existed.")
    return link.project
