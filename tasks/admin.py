from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tasks import services
from tasks.models import Quota, Task
from tasks.registry import tasks_settled


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "project", "status", "progress", "attempt", "backend", "created_at"]
    list_filter = ["status", "kind", "backend"]
    search_fields = ["id", "project__title", "message", "error", "trace_id"]
    readonly_fields = [f.name for f in Task._meta.fields] + ["parents"]
    actions = ["retry", "cancel"]
    date_hierarchy = "created_at"

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
        count = services.tasks_cancel(tasks=queryset, reason="Cancelled by an operator.")
        for project_id in projects:
            tasks_settled(project_id)
        self.message_user(request, f"{count} task(s) cancelled.", messages.SUCCESS)


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ["user", "active_tasks", "projects_per_hour"]
    search_fields = ["user__username"]
    autocomplete_fields = ["user"]
