from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from core.errors import ApplicationError
from tasks import services
from tasks.models import Quota, Task
from tasks.registry import tasks_settled

SUPERSEDED = Q(status=Task.Status.CANCELLED, message__startswith="Superseded")


class OutcomeFilter(admin.SimpleListFilter):
    """How a task ended, with work superseded by a newer edit apart from failures and cancels."""

    title = "outcome"
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("failed", "Failed"),
            ("cancelled", "Cancelled (not superseded)"),
            ("superseded", "Superseded by a newer edit"),
            ("unfinished", "Not ended yet"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> QuerySet[Task]:
        match self.value():
            case "failed":
                return queryset.filter(status=Task.Status.FAILED)
            case "cancelled":
                return queryset.filter(status=Task.Status.CANCELLED).exclude(SUPERSEDED)
            case "superseded":
                return queryset.filter(SUPERSEDED)
            case "unfinished":
                return queryset.filter(status__in=Task.UNFINISHED)
        return queryset


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Tasks are the engine's record: read only (no Save, no "Add task"); retry and cancel are
    actions on the list and buttons on a task's own page."""

    list_display = ["id", "kind", "project", "status", "progress", "attempt", "message", "backend", "created_at"]
    list_filter = [OutcomeFilter, "status", "kind", "backend"]
    search_fields = ["id", "project__title", "message", "error", "trace_id"]
    readonly_fields = [f.name for f in Task._meta.fields] + ["parents"]
    actions = ["retry", "cancel"]
    date_hierarchy = "created_at"
    change_form_template = "admin/tasks/task/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Task | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        own = [
            path("<uuid:task_id>/retry/", view(require_POST(self.retry_one)), name="tasks_task_retry"),
            path("<uuid:task_id>/cancel/", view(require_POST(self.cancel_one)), name="tasks_task_cancel"),
        ]
        return own + super().get_urls()

    def _one(self, request: HttpRequest, task_id: str, act: Any) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        task = get_object_or_404(Task, pk=task_id)
        try:
            message = act(task)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            tasks_settled(task.project_id)
            self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:tasks_task_change", args=[task.pk]))

    def retry_one(self, request: HttpRequest, task_id: str) -> HttpResponse:
        return self._one(request, task_id, _retry)

    def cancel_one(self, request: HttpRequest, task_id: str) -> HttpResponse:
        return self._one(request, task_id, _cancel)

    @admin.action(description="Retry the selected failed or cancelled tasks")
    def retry(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        retried = list(queryset.filter(status__in=(Task.Status.FAILED, Task.Status.CANCELLED)))
        for task in retried:
            services.task_retry(task=task)
        for project_id in {task.project_id for task in retried}:  # their status follows
            tasks_settled(project_id)
        self.message_user(request, f"{len(retried)} task(s) queued again.", messages.SUCCESS)

    @admin.action(description="Cancel the selected unfinished tasks")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        projects = set(queryset.values_list("project_id", flat=True))
        count = services.tasks_cancel(tasks=queryset, said=services.by_operator())
        for project_id in projects:
            tasks_settled(project_id)
        self.message_user(request, f"{count} task(s) cancelled.", messages.SUCCESS)


def _retry(task: Task) -> str:
    services.task_retry(task=task)
    return "The task is queued again."


def _cancel(task: Task) -> str:
    if not services.task_cancel(task=task, said=services.by_operator()):
        raise ApplicationError(f"The task has already {task.status}; there is nothing to cancel.")
    return "The task is cancelled."


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ["user", "active_tasks", "projects_per_hour"]
    search_fields = ["user__username"]
    autocomplete_fields = ["user"]
