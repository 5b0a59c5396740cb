from __future__ import annotations

from typing import Any

from rest_framework import serializers

from tasks.models import Task


class TaskSerializer(serializers.ModelSerializer[Task]):
    projectId = serializers.UUIDField(source="project_id", read_only=True)
    shotId = serializers.UUIDField(source="shot_id", read_only=True, allow_null=True)
    maxAttempts = serializers.IntegerField(source="max_attempts", read_only=True)
    timeoutSeconds = serializers.IntegerField(source="timeout_s", read_only=True)
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

    def get_parentIds(self, task: Task) -> list[str]:  # noqa: N802 - the JSON name
        return [str(parent.id) for parent in task.parents.all()]


class UsageQuerySerializer(serializers.Serializer):
    """A window of time, by when the tasks were made (dates or ISO 8601 times; the last 30 days
    when left out)."""

    # "from" is a Python keyword: the field is named in the mapping below.
    to = serializers.DateTimeField(required=False, input_formats=["iso-8601", "%Y-%m-%d"])

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(required=False, input_formats=["iso-8601", "%Y-%m-%d"])
        return fields

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        start, end = attrs.get("from"), attrs.get("to")
        if start is not None and end is not None and start > end:  # type: ignore[operator]
            raise serializers.ValidationError({"from": "Must not be after 'to'."})
        return attrs


class UsageSerializer(serializers.Serializer):
    """What tasks used: amounts summed (seconds, tokens, images, steps), per device kind and per
    kind of task, and the cost where the installation sets prices (USAGE_PRICES)."""

    tasks = serializers.IntegerField()
    wallSeconds = serializers.FloatField()
    deviceSeconds = serializers.FloatField(help_text="Seconds on a GPU.")
    tokensIn = serializers.FloatField()
    tokensOut = serializers.FloatField()
    images = serializers.FloatField()
    steps = serializers.FloatField()
    audioSeconds = serializers.FloatField()
    videoSeconds = serializers.FloatField()
    secondsByDevice = serializers.DictField(child=serializers.FloatField())
    byKind = serializers.DictField(child=serializers.DictField(child=serializers.FloatField()))
    cost = serializers.FloatField(allow_null=True)
    currency = serializers.CharField()
    start = serializers.DateTimeField(required=False, help_text="The window's start (GET /usage).")
    end = serializers.DateTimeField(required=False, help_text="The window's end (GET /usage).")


def standard_task(data: dict[str, Any]) -> dict[str, Any]:
    """A serialised task as the "StoryToVideo standard" contract has it: ``{"task": {...}}``,
    its ``type`` being v1's ``kind``, with v1's other fields."""
    return {"task": {**data, "type": data["kind"]}}
