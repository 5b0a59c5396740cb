from __future__ import annotations

from typing import Any

from rest_framework import serializers

from tasks.models import Task
from tasks.registry import KINDS, kinds


class TaskSerializer(serializers.ModelSerializer[Task]):
    projectId = serializers.UUIDField(
        source="project_id", read_only=True, allow_null=True, help_text="null for work outside any film (the studio's)."
    )
    shotId = serializers.UUIDField(source="shot_id", read_only=True, allow_null=True)
    maxAttempts = serializers.IntegerField(source="max_attempts", read_only=True)
    timeoutSeconds = serializers.IntegerField(source="timeout_s", read_only=True)
    messageParts = serializers.ListField(
        source="message_parts",
        child=serializers.DictField(),
        read_only=True,
        help_text="message as sentences, each a code and its values, for saying it in another language; "
        "empty where the message is an engine's own words.",
    )
    parentIds = serializers.SerializerMethodField()
    inputsHash = serializers.CharField(source="inputs_hash", read_only=True)
    traceId = serializers.CharField(source="trace_id", read_only=True)
    runAfter = serializers.DateTimeField(source="run_after", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    startedAt = serializers.DateTimeField(source="started_at", read_only=True, allow_null=True)
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True, allow_null=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "kind",
            "projectId",
            "shotId",
            "status",
            "progress",
            "message",
            "messageParts",
            "attempt",
            "maxAttempts",
            "timeoutSeconds",
            "parentIds",
            "inputsHash",
            "result",
            "error",
            "backend",
            "model",
            "usage",
            "traceId",
            "runAfter",
            "createdAt",
            "startedAt",
            "finishedAt",
            "updatedAt",
        ]
        read_only_fields = fields

    def get_fields(self) -> dict[str, serializers.Field]:
        """``kind`` names one of the registered kinds (its enum is theirs, read when the
        serializer is made: every app's kinds are registered by then)."""
        fields = super().get_fields()
        fields["kind"] = serializers.ChoiceField(
            choices=[(kind.name, kind.name.title()) for kind in kinds()], read_only=True
        )
        return fields

    def get_parentIds(self, task: Task) -> list[str]:  # noqa: N802 - the JSON name
        return [str(parent.id) for parent in task.parents.all()]


def standard_task(data: dict[str, Any]) -> dict[str, Any]:
    """A serialised task as the "StoryToVideo standard" contract has it: ``{"task": {...}}``,
    its ``type`` in the standard's word for its kind (``Kind.standard_type``), with v1's fields."""
    kind = KINDS.get(data["kind"])
    return {"task": {**data, "type": (kind.standard_type if kind else "") or data["kind"]}}
