"""What a shot edit sets off in the film (``shots.film.Film``): the project read and locked as
the film's rules have it, the stages queued again through the pipeline, the film recomposed.
Bound at start-up by the composition root."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from core.access import Role
from projects import pipeline, selectors
from projects.models import Project
from shots.film import Film
from shots.models import Shot
from shots.stages import Stage
from tasks.models import Task


class ProjectFilm(Film):
    def project_get(
        self, *, user: AbstractBaseUser | AnonymousUser, project_id: object, role: Role = Role.EDITOR
    ) -> Project:
        return selectors.project_get(user=user, project_id=project_id, role=role)

    def project_lock(self, *, project_id: uuid.UUID) -> Project:
        return selectors.project_lock(project_id=project_id)

    def shots_regenerate(
        self, *, shots: Iterable[Shot], stages: set[Stage], new: bool = False, explicit: bool = False
    ) -> list[Task]:
        return pipeline.shots_regenerate(shots=shots, stages=stages, new=new, explicit=explicit)

    def project_recompose_if_rendered(self, *, project: Any) -> Task | None:
        return pipeline.project_recompose_if_rendered(project=project)

    def rendering(self, *, project_ids: QuerySet[Any, Any]) -> bool:
        return pipeline.renders_under_way(project_ids=project_ids)
