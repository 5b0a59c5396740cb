"""The film's rule of who may do what with a project (``core.access.ProjectAccess``): its owner,
and the people it is shared with (``projects.sharing``). Bound at start-up by the composition
root."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from core.access import ProjectAccess, Role
from projects import selectors
from projects.models import Project


class ProjectAccessRules(ProjectAccess):
    def visible_project_ids(self, user_id: int | None) -> QuerySet[Any, Any]:
        return selectors.visible_project_ids(user_id)

    def role_of(self, user_id: int | None, project_id: uuid.UUID | str) -> Role | None:
        return selectors.role_of(user_id, project_id)

    def owner_of(self, user_id: int | None, keyword: str, value: object) -> int | None:
        return selectors.owner_of(user_id, keyword, value)

    def media_generation(self, project_id: str) -> int | None:
        try:
            pk = uuid.UUID(project_id)
        except ValueError:
            return None
        return Project.objects.filter(pk=pk).values_list("media_generation", flat=True).first()
