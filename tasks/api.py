from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.access import Role
from core.api import Pagination, paginated
from core.errors import ApplicationError
from tasks import selectors, services
from tasks.models import Task
from tasks.registry import tasks_settled
from tasks.serializers import TaskSerializer
from tasks.throttles import GENERATION_THROTTLES


class TaskListApi(APIView):
    @extend_schema(
        responses=paginated(TaskSerializer, "TaskPage"),
        operation_id="tasks_list",
        parameters=[
            OpenApiParameter("projectId", OpenApiTypes.UUID),
            OpenApiParameter("shotId", OpenApiTypes.UUID),
            OpenApiParameter("status", OpenApiTypes.STR, enum=Task.Status.values),
        ],
    )
    def get(self, request: Request) -> Response:
        filters = {}
        for param, key in (("projectId", "project_id"), ("shotId", "shot_id")):
            value = request.query_params.get(param)
            if value:
                try:
                    filters[key] = uuid.UUID(value)
                except ValueError:
                    raise ValidationError({param: "Must be a UUID."}) from None
        status_filter = request.query_params.get("status")
        if status_filter and status_filter not in Task.Status.values:
            raise ValidationError({"status": f"Must be one of: {', '.join(Task.Status.values)}."})
        queryset = selectors.task_list(user=request.user, status=status_filter or None, **filters)
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(TaskSerializer(page, many=True).data)


class TaskDetailApi(APIView):
    @extend_schema(responses=TaskSerializer)
    def get(self, request: Request, task_id: str) -> Response:
        """A task's state: the polling fallback when the WebSocket is down."""
        return Response(TaskSerializer(selectors.task_get(user=request.user, task_id=task_id, role=Role.VIEWER)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, task_id: str) -> Response:
        """Cancel the task if it has not ended, and hide it: it leaves every list, and reading it
        answers 404 (an editor's right, as cancelling is)."""
        task = selectors.task_get(user=request.user, task_id=task_id)
        services.task_delete(task=task)
        tasks_settled(task.project_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskCancelApi(APIView):
    @extend_schema(request=None, responses=TaskSerializer)
    def post(self, request: Request, task_id: str) -> Response:
        """Cancel a blocked, queued or running task (and what waits on it)."""
        task = selectors.task_get(user=request.user, task_id=task_id)
        if not services.task_cancel(task=task):
            task.refresh_from_db()  # it ended since it was read
            raise ApplicationError(f"The task has already {task.status}; there is nothing to cancel.", code="conflict")
        tasks_settled(task.project_id)  # the project's status follows
        task.refresh_from_db()
        return Response(TaskSerializer(task).data)


class TaskRetryApi(APIView):
    throttle_classes = GENERATION_THROTTLES

    @extend_schema(request=None, responses={202: TaskSerializer})
    def post(self, request: Request, task_id: str) -> Response:
        """Run a failed or cancelled task again."""
        task = selectors.task_get(user=request.user, task_id=task_id)
        task = services.task_retry(task=task)
        tasks_settled(task.project_id)
        return Response(TaskSerializer(task).data, status=status.HTTP_202_ACCEPTED)
