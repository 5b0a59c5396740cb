from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tasks import services
from tasks.models import Quota, Task


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
        count = 0
        for task in queryset.filter(status__in=(Task.Status.FAILED, Task.Status.CANCELLED)):
            services.task_retry(task=task)
            count += 1
        self.message_user(request, f"{count} task(s) queued again.", messages.SUCCESS)

    @admin.action(description="Cancel the selected unfinished tasks")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        count = services.tasks_cancel(tasks=queryset, reason="Cancelled by an operator.")
        self.message_user(request, f"{count} task(s) cancelled.", messages.SUCCESS)


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ["user", "active_tasks", "projects_per_hour"]
    search_fields = ["user__username"]
    autocomplete_fields = ["user"]
