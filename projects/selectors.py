from __future__ import annotations

import hashlib
import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, models
from django.db.models import Case, Prefetch, Q, QuerySet, When
from django.http import Http404
from django.shortcuts import get_object_or_404

from core import access
from core.access import Role
from core.errors import ApplicationError
from core.media import media_url_epoch
from inference.engines import Fallback
from inference.registry import WHY_NOT_HERE
from inference.sentences import understood
from projects.models import Character, Member, Project
from shots.models import Shot
from tasks.models import Task


def _visible(user_id: int | None) -> QuerySet[Project]:
    if user_id is None:
        return Project.objects.none()
    shared = Member.objects.filter(user_id=user_id).values("project_id")
    return Project.objects.filter(Q(owner_id=user_id) | Q(pk__in=shared))


def visible_project_ids(user_id: int | None) -> QuerySet[Project, Any]:
    """The ids of the projects the user owns or that were shared with them."""
    return _visible(user_id).values("pk")


def project_list(
    *, user: AbstractBaseUser | AnonymousUser, status: str | None = None, query: str = ""
) -> QuerySet[Project]:
    """The projects this user owns or that were shared with them, most recently changed first;
    of one status, and matching ``query`` in their title, description or story. On PostgreSQL
    the query is full-text (web-search syntax, English stemming: "lighthouses" finds
    "lighthouse"), best match first; a substring matches too, so Chinese, which has no spaces
    between words, is found. SQLite finds by substring alone, matches in the title first."""
    projects = _visible(user.pk)
    if status:
        projects = projects.filter(status=status)
    words = " ".join(query.split())
    if not words:
        return projects.order_by("-updated_at")
    contains = Q(title__icontains=words) | Q(description__icontains=words) | Q(story__icontains=words)
    if connection.vendor != "postgresql":  # a match in the title first, as PostgreSQL ranks it
        in_title = Case(When(title__icontains=words, then=1), default=0, output_field=models.IntegerField())
        return projects.filter(contains).annotate(in_title=in_title).order_by("-in_title", "-updated_at")
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    vector = SearchVector("title", weight="A", config="english") + SearchVector(
        "description", "story", weight="B", config="english"
    )
    found = SearchQuery(words, config="english", search_type="websearch")
    return (
        projects.annotate(rank=SearchRank(vector, found))
        .filter(Q(rank__gt=0) | contains)
        .order_by("-rank", "-updated_at")
    )


def film_of(task: Task) -> Project:
    """The film a task of a film's kind works on: each has one (only the image studio's work is
    outside any film)."""
    if task.project is None:
        raise ValueError(f"A {task.kind} task works on a film; {task.id} has none.")
    return task.project


def film_id(task: Task) -> uuid.UUID:
    """The id of the film a task of a film's kind works on, without reading it (``film_of``)."""
    if task.project_id is None:
        raise ValueError(f"A {task.kind} task works on a film; {task.id} has none.")
    return task.project_id


def role_of(user_id: int | None, project_id: uuid.UUID | str) -> Role | None:
    """The user's role on the project: owner, the role it was shared with, or None."""
    row = Project.objects.filter(pk=project_id).values_list("owner_id", flat=True).first()
    if row is None or user_id is None:
        return None
    if row == user_id:
        return Role.OWNER
    return _member_role(user_id, project_id)


def _member_role(user_id: int, project_id: uuid.UUID | str) -> Role | None:
    role = Member.objects.filter(project_id=project_id, user_id=user_id).values_list("role", flat=True).first()
    return None if role is None else Role.EDITOR if role == Member.Role.EDITOR else Role.VIEWER


# What each route keyword names, and the paths from it to its project and that project's owner.
_OWNED: dict[str, tuple[type[models.Model], str, str]] = {
    "project_id": (Project, "pk", "owner_id"),
    "shot_id": (Shot, "project_id", "project__owner_id"),
    "character_id": (Character, "project_id", "project__owner_id"),
    "task_id": (Task, "project_id", "project__owner_id"),
}


def owner_of(user_id: int | None, keyword: str, value: object) -> int | None:
    """The owner of the project of the object a route names, where the user may see that
    project (``core.access.ProjectAccess``); None otherwise, so nothing is told of another's."""
    if keyword not in _OWNED or user_id is None:
        return None
    try:
        pk = uuid.UUID(str(value))
    except ValueError:
        return None
    model, project, owner = _OWNED[keyword]
    row = model._default_manager.filter(pk=pk).values_list(project, owner).first()
    if row is None:
        return None
    project_id, owner_id = row
    if owner_id != user_id and not Member.objects.filter(project_id=project_id, user_id=user_id).exists():
        return None
    return int(owner_id)


def project_role(*, user: AbstractBaseUser | AnonymousUser, project: Project) -> Role:
    """The user's role on a project read through ``project_list`` (so one they may see)."""
    if project.owner_id == user.pk:
        return Role.OWNER
    return _member_role(user.pk or 0, project.pk) or Role.VIEWER


def project_get(*, user: AbstractBaseUser | AnonymousUser, project_id: object, role: Role = Role.EDITOR) -> Project:
    """The project, where the user has at least ``role`` on it (an editor's by default: reads
    say ``Role.VIEWER``). 404 where it is not theirs nor shared with them (its existence stays
    private); 403 where their role is less."""
    project = get_object_or_404(project_list(user=user), pk=project_id)
    project_require(user=user, project=project, role=role)
    return project


def project_require(*, user: AbstractBaseUser | AnonymousUser, project: Project, role: Role) -> None:
    if role is not Role.VIEWER:
        access.check(project_role(user=user, project=project), role)


def project_storyboard(*, user: AbstractBaseUser | AnonymousUser, project_id: object) -> Project:
    """The project with its characters and ordered shots prefetched, in a fixed number of queries
    (anyone it is shared with may read it)."""
    shots = Shot.objects.order_by("order", "created_at").prefetch_related("characters")
    characters = Character.objects.prefetch_related("shots")
    queryset = project_list(user=user).prefetch_related(
        Prefetch("shots", queryset=shots), Prefetch("characters", queryset=characters)
    )
    return get_object_or_404(queryset, pk=project_id)


def storyboard_version(*, user: AbstractBaseUser | AnonymousUser, project_id: uuid.UUID | str) -> str:
    return storyboard_version_of(user_id=user.pk, project_id=project_id)


def storyboard_version_of(*, user_id: int | None, project_id: uuid.UUID | str) -> str:
    """A tag that changes whenever anything the storyboard read shows changes (the project, its
    shots, characters and their links, its tasks, and the hour its media URLs are signed for),
    read in one SQL statement and no serialisation: what answers a conditional re-read (304).
    One statement by hand, as the ORM's four aggregates cost most of a re-read to compile."""
    try:
        pk = uuid.UUID(str(project_id))
    except ValueError:
        raise Http404("No such project.") from None
    project, shot, character, task, member = (m._meta.db_table for m in (Project, Shot, Character, Task, Member))
    link = Shot.characters.through._meta.db_table
    sql = f"""
        SELECT p.updated_at, p.status,
            (SELECT COUNT(*) FROM {shot} WHERE project_id = p.id),
            (SELECT MAX(updated_at) FROM {shot} WHERE project_id = p.id),
            (SELECT COUNT(*) FROM {character} WHERE project_id = p.id),
            (SELECT MAX(updated_at) FROM {character} WHERE project_id = p.id),
            (SELECT COUNT(*) FROM {link} l JOIN {shot} s ON s.id = l.shot_id WHERE s.project_id = p.id),
            (SELECT COUNT(*) FROM {task} WHERE project_id = p.id),
            (SELECT MAX(updated_at) FROM {task} WHERE project_id = p.id)
        FROM {project} p WHERE p.id = %s
            AND (p.owner_id = %s OR EXISTS (SELECT 1 FROM {member} WHERE project_id = p.id AND user_id = %s))
    """  # noqa: S608 - table names from the models, values as parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [Project._meta.pk.get_db_prep_value(pk, connection), user_id, user_id])
        row = cursor.fetchone()
    if row is None:
        raise Http404("No such project.")
    return hashlib.sha256(repr((pk, row, media_url_epoch())).encode()).hexdigest()[:32]


def storyboard_body_key(version: str, language: str) -> str:
    """Where a version's serialised storyboard is kept: one per language, as it holds the
    status in words."""
    return f"storyboard:{version}:{language}"


def character_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Character]:
    return Character.objects.filter(project__in=visible_project_ids(user.pk)).prefetch_related("shots")


def character_get(
    *, user: AbstractBaseUser | AnonymousUser, character_id: object, role: Role = Role.EDITOR
) -> Character:
    """The character, where the user has at least ``role`` on its project (as ``project_get``)."""
    character = get_object_or_404(character_list(user=user).select_related("project"), pk=character_id)
    project_require(user=user, project=character.project, role=role)
    return character


def project_lock(*, project_id: uuid.UUID) -> Project:
    """Lock a project's row for the rest of the transaction. Every change to a storyboard takes
    its locks in one order: the project, then its characters or shots."""
    return Project.objects.select_for_update().get(pk=project_id)


def project_drafts(*, project: Project) -> list[dict[str, str]]:
    """Which stages of the project last ran a draft back end instead of the configured one, and
    why, as the workers recorded it in each stage's newest finished task (not as this web
    process guesses): what the editor's notice says."""
    return [entry for entry in stages_last_ran(tasks=project.tasks.all()) if entry["draft"]]


STAGE_WORDS = {"storyboard": "storyboard", "image": "pictures", "speech": "voices", "motion": "clips"}


def task_fallback(task: Task) -> Fallback | None:
    """The draft that stood in for the configured back end in this finished task, if one did."""
    result = task.result if isinstance(task.result, dict) else {}
    notes = result.get("notes", []) if task.kind == "storyboard" else [result.get("note", "")]
    return next((f for f in map(Fallback.parse, notes) if f is not None), None)


def stages_last_ran(*, tasks: QuerySet[Task]) -> list[dict[str, Any]]:
    """Per model stage, what made its newest finished result among ``tasks`` (as the worker
    recorded it), whether that was a draft standing in, and why."""
    ran = []
    for kind, words in STAGE_WORDS.items():
        task = tasks.filter(kind=kind, status=Task.Status.FINISHED).order_by("-finished_at").first()
        if task is None:
            continue
        fallback = task_fallback(task)
        made_by = f"{task.backend}:{task.model}" if task.model else task.backend
        ran.append(
            {
                "stage": words,
                "runs": fallback.runs if fallback else made_by,
                "spec": fallback.spec if fallback else made_by,
                "draft": fallback is not None,
                "reason": fallback.reason if fallback else "",
                "reasonParts": getattr(understood(fallback.reason, WHY_NOT_HERE), "parts", []) if fallback else [],
                "at": task.finished_at,
            }
        )
    return ran


def film_check(*, project: Project) -> dict[str, Any]:
    """The film check of the project's latest render (``projects.render.film_check``)."""
    if not project.render_video:
        raise ApplicationError(
            "The project has no film yet: render it first (POST /api/v1/projects/{id}/render).", code="conflict"
        )
    check = (project.render_manifest or {}).get("check")
    if not check:
        raise ApplicationError(
            "This film was rendered before films were checked: render it again to check it.", code="conflict"
        )
    return {**check, "renderHash": project.render_hash}


def clips_stored(project: Project) -> bool:
    """Whether every clip for an editor the project's render names is stored (as the render and
    its clips task recorded it: no look at the storage, which may be an object store)."""
    # a render made before the clips task stored its clips itself
    return bool((project.render_manifest or {}).get("clipsReady", True))
