from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from tasks.registry import KINDS


def registered_kind(name: str) -> None:
    if name not in KINDS:
        raise ValidationError(f"{name!r} is not a registered kind of task ({', '.join(sorted(KINDS))}).")


class Task(models.Model):
    """One unit of background work. The row is the truth; RQ only carries its id.

    blocked -> pending -> processing -> finished | failed; blocked/pending/processing -> cancelled.
    """

    class Status(models.TextChoices):
        BLOCKED = "blocked"
        PENDING = "pending"
        PROCESSING = "processing"
        FINISHED = "finished"
        FAILED = "failed"
        CANCELLED = "cancelled"

    UNFINISHED = (Status.BLOCKED, Status.PENDING, Status.PROCESSING)
    ENDED = (Status.FINISHED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The name of a registered kind of work (tasks.registry): the apps declare their kinds, so a
    # new kind needs no migration; an unregistered one is refused when the task is made.
    kind = models.CharField(max_length=16, validators=[registered_kind])
    # Named by string: the engine imports no app of the film. None for work outside any film
    # (the image studio's pictures): such a task is its owner's alone.
    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    # Whose work it is: queues are shared fairly between owners, and limits count per owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    shot = models.ForeignKey("shots.Shot", on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=1000, blank=True)
    # The message as sentence codes and values, from which a page says it in the reader's
    # language; [] where it is words only (an engine's own error).
    message_parts = models.JSONField(default=list, blank=True)
    attempt = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    timeout_s = models.PositiveIntegerField(default=1200)
    parents = models.ManyToManyField("self", symmetrical=False, related_name="children", blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="What the job needs, e.g. the stage version.")
    inputs_hash = models.CharField(max_length=64, blank=True)
    result = models.JSONField(null=True, blank=True)
    # What an attempt finished of a long job, for the next attempt to go on from (task_keep).
    kept = models.JSONField(default=dict, blank=True)
    # What its attempts used, summed: wallSeconds, deviceSeconds, device, tokensIn, tokensOut,
    # images, steps, audioSeconds, videoSeconds (inference.usage; tasks.selectors.usage_sum).
    usage = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    backend = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=200, blank=True)
    job_id = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the process running it")
    trace_id = models.CharField(max_length=64, blank=True)
    run_after = models.DateTimeField(null=True, blank=True, help_text="Backoff: not to be run before this time.")
    waiting_since = models.DateTimeField(
        null=True, blank=True, help_text="Held up since then by something outside it (a full disk)."
    )
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    hidden = models.BooleanField(
        default=False,
        help_text="Deleted by its owner (DELETE /api/v1/tasks/{id}): cancelled, and left out of every list.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="task_project_recent"),
            models.Index(fields=["shot", "kind", "status"], name="task_shot_kind_status"),
            models.Index(fields=["status", "heartbeat_at"], name="task_status_heartbeat"),
            models.Index(fields=["owner", "status"], name="task_owner_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"

    @property
    def is_ended(self) -> bool:
        return self.status in self.ENDED


class Quota(models.Model):
    """One user's own limits, where an operator set them; a blank limit follows the settings
    (QUOTA_ACTIVE_TASKS, QUOTA_PROJECTS_PER_HOUR)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quota")
    active_tasks = models.PositiveIntegerField(
        null=True, blank=True, help_text="Tasks waiting or running at once; blank: QUOTA_ACTIVE_TASKS."
    )
    projects_per_hour = models.PositiveIntegerField(
        null=True, blank=True, help_text="New projects (made or imported) per hour; blank: QUOTA_PROJECTS_PER_HOUR."
    )

    def __str__(self) -> str:
        return f"Quota of {self.user}"
