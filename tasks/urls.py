"""The task engine's REST API routes."""

from django.urls import URLPattern, path

from tasks import api

urlpatterns: list[URLPattern] = [
    path("tasks", api.TaskListApi.as_view(), name="task-list"),
    path("tasks/<uuid:task_id>", api.TaskDetailApi.as_view(), name="task-detail"),
    path("tasks/<uuid:task_id>/cancel", api.TaskCancelApi.as_view(), name="task-cancel"),
    path("tasks/<uuid:task_id>/retry", api.TaskRetryApi.as_view(), name="task-retry"),
]
