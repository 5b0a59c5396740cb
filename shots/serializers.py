from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import FiniteFloatField, StrictSerializer, StyleField, TextField, media_url, thumbnail_url
from inference.styles import (
    ASPECT_RATIOS,
    CAMERA_ANGLES,
    CAMERA_MOVES,
    IMAGE_TIERS,
    RESOLUTIONS,
    SHOT_SIZES,
    TRANSITIONS,
    shot_language,
)
from inference.text import has_cjk
from shots.candidates import MOST
from shots.models import Candidate, Picture, Shot, ShotVersion
from shots.stages import OWN, STAGES, Stage, stage_named
from shots.studio import estimated_seconds
from tasks.serializers import TaskSerializer

SIZE_HELP = (
    "How much of the subject the frame holds: close_up (特写), medium_close_up (近景), medium (中景), "
    "full (全景), wide (远景); written into the picture prompt; a change redoes the picture only. Blank: not set."
)
ANGLE_HELP = (
    "Where the camera looks from: eye_level (平视), low (仰拍), high (俯拍), overhead (鸟瞰); written into the "
    "picture prompt; a change redoes the picture only. Blank: not set."
)


class StageSerializer(serializers.Serializer):
    url = serializers.CharField(allow_null=True)
    thumbnailUrl = serializers.CharField(
        allow_null=True, help_text="A picture's thumbnail (WebP, 320 px wide); null for a voice or a clip."
    )
    hash = serializers.CharField()
    version = serializers.IntegerField()
    source = serializers.CharField(  # type: ignore[assignment]  # a field named source, not Field.source
        help_text='The back end and model that produced the file; "own:<file name>" for an upload.'
    )
    own = serializers.BooleanField(help_text="The person's own file (an upload): regenerating asks first.")


@extend_schema_field(StageSerializer)
class StageField(serializers.Field):
    """One stage's result on the shot (a field per declared stage: ``shots.stages``)."""

    def __init__(self, stage: Stage, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)
        self.stage = stage

    def to_representation(self, shot: Shot) -> dict[str, Any]:
        result = shot.result(self.stage)
        return {
            "url": media_url(result.file),
            "thumbnailUrl": thumbnail_url(result.file),
            "hash": result.hash,
            "version": result.version,
            "source": result.source,
            "own": result.own,
        }


class ShotLanguageField(serializers.ChoiceField):
    """A shot size or camera angle: its key, the words for it, or a film term in Chinese (特写,
    俯拍 …), validated into the key; blank clears it."""

    def __init__(self, choices: dict[str, str], **kwargs: Any) -> None:
        super().__init__(choices=list(choices), allow_blank=True, **kwargs)
        self.words = choices

    def to_internal_value(self, data: Any) -> str:
        key = shot_language(data, self.words)
        if key is None:
            self.fail("invalid_choice", input=str(data)[:100])
        return str(key)


class ShotSerializer(serializers.ModelSerializer[Shot]):
    projectId = serializers.UUIDField(source="project_id", read_only=True)
    negativePrompt = serializers.CharField(source="negative_prompt", read_only=True)
    motionPrompt = serializers.CharField(
        source="motion_prompt",
        read_only=True,
        help_text="What moves in the animated clip (LTX-Video); blank: the prompt and the camera move in words.",
    )
    pinnedDuration = serializers.FloatField(source="pinned_duration", read_only=True, allow_null=True)
    duration = serializers.FloatField(read_only=True)
    seedPinned = serializers.BooleanField(
        source="seed_pinned", read_only=True, help_text="A new picture keeps the seed; else it draws a new one."
    )
    speechDuration = serializers.FloatField(source="speech_duration", read_only=True, allow_null=True)
    shotSize = serializers.ChoiceField(
        source="shot_size", choices=list(SHOT_SIZES), allow_blank=True, read_only=True, help_text=SIZE_HELP
    )
    cameraAngle = serializers.ChoiceField(
        source="camera_angle", choices=list(CAMERA_ANGLES), allow_blank=True, read_only=True, help_text=ANGLE_HELP
    )
    characterIds = serializers.SerializerMethodField()
    originalNarration = serializers.CharField(
        source="original_narration",
        read_only=True,
        help_text="In a translated project, the narration in the language it was translated from.",
    )
    promptNote = serializers.SerializerMethodField(
        help_text="Why the picture prompt may not give the picture asked for (blank when nothing is amiss)."
    )
    speakerId = serializers.UUIDField(
        source="speaker_id", read_only=True, allow_null=True, help_text="The character speaking; null: the narrator."
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Shot
        fields = [
            "id",
            "projectId",
            "order",
            "prompt",
            "promptNote",
            "negativePrompt",
            "narration",
            "originalNarration",
            "camera",
            "transition",
            "shotSize",
            "cameraAngle",
            "motionPrompt",
            "duration",
            "pinnedDuration",
            "speechDuration",
            "seed",
            "seedPinned",
            "characterIds",
            "speakerId",
            "locked",
            "approved",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = fields

    def get_fields(self) -> dict[str, serializers.Field]:
        """The model's fields, then one per stage (before the times)."""
        fields = super().get_fields()
        times = {name: fields.pop(name) for name in ("createdAt", "updatedAt")}
        return fields | {stage.name: StageField(stage) for stage in STAGES.values()} | times

    def get_characterIds(self, shot: Shot) -> list[str]:  # noqa: N802 - the JSON name
        return [str(character.id) for character in shot.characters.all()]

    def get_promptNote(self, shot: Shot) -> str:  # noqa: N802 - the JSON name
        if has_cjk(shot.prompt):
            return str(
                _(
                    "The picture prompt is not in English, and the image model reads English: "
                    "write it in English, or have the model rewrite it."
                )
            )
        return ""


class ShotWriteSerializer(StrictSerializer):
    """Fields of a shot a client may set. On create, ``afterShotId`` places it (default: last)."""

    prompt = TextField(max_length=2000, required=False)
    negativePrompt = TextField(max_length=1000, source="negative_prompt", required=False, allow_blank=True)
    narration = TextField(max_length=2000, required=False, allow_blank=True)
    camera = serializers.ChoiceField(choices=CAMERA_MOVES, required=False)
    transition = serializers.ChoiceField(choices=TRANSITIONS, required=False)
    shotSize = ShotLanguageField(SHOT_SIZES, source="shot_size", required=False, help_text=SIZE_HELP)
    cameraAngle = ShotLanguageField(CAMERA_ANGLES, source="camera_angle", required=False, help_text=ANGLE_HELP)
    motionPrompt = TextField(
        max_length=1000,
        source="motion_prompt",
        required=False,
        allow_blank=True,
        help_text="What moves in the animated clip; blank: the prompt and the camera move. A change redoes the clip.",
    )
    pinnedDuration = FiniteFloatField(
        min_value=0.5, max_value=60, source="pinned_duration", required=False, allow_null=True
    )
    seed = serializers.IntegerField(
        min_value=0,
        max_value=2**32 - 1,
        required=False,
        help_text="The seed the picture is painted with; setting it pins it (unless seedPinned is false).",
    )
    seedPinned = serializers.BooleanField(
        source="seed_pinned",
        required=False,
        help_text="A new picture keeps the seed; else each new picture draws a new one.",
    )
    characterIds = serializers.ListField(
        child=serializers.UUIDField(), max_length=20, source="character_ids", required=False
    )
    speakerId = serializers.UUIDField(
        source="speaker_id",
        required=False,
        allow_null=True,
        help_text="The character who speaks the narration, in its voice; null: the narrator.",
    )
    locked = serializers.BooleanField(
        required=False, help_text="Keep the shot as it is when the storyboard is rewritten."
    )
    approved = serializers.BooleanField(required=False, help_text="The shot is approved as it is (redoes nothing).")


class ShotCreateSerializer(ShotWriteSerializer):
    prompt = TextField(max_length=2000)
    afterShotId = serializers.UUIDField(source="after_shot_id", required=False, allow_null=True)


class ReorderSerializer(StrictSerializer):
    shotIds = serializers.ListField(
        child=serializers.UUIDField(), min_length=1, max_length=settings.SHOTS_MAX, source="shot_ids"
    )


class StageChoiceField(serializers.ChoiceField):
    """A stage by its name, as the declared stages have them; validated into the Stage."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=list(STAGES), **kwargs)

    def to_internal_value(self, data: Any) -> Stage:  # type: ignore[override]  # the Stage, not its name
        return stage_named(super().to_internal_value(data))


SHOTS_PER_BATCH = 100  # shots in one POST /api/v1/tasks/batch


class GenerateSerializer(StrictSerializer):
    stage = StageChoiceField()
    force = serializers.BooleanField(default=False, help_text="Replace the person's own file (409 otherwise).")


class CandidatesRequestSerializer(StrictSerializer):
    count = serializers.IntegerField(min_value=1, max_value=MOST, default=4, help_text="How many pictures (1-8).")
    seed = serializers.IntegerField(
        min_value=0,
        max_value=2**32 - 1,
        required=False,
        help_text="The first picture's seed; the next ones count up from it. Left out: a new one.",
    )
    steps = serializers.IntegerField(
        min_value=1, max_value=100, required=False, help_text="Denoising steps; left out: the tier's own."
    )
    guidance = FiniteFloatField(
        min_value=0, max_value=30, required=False, help_text="Guidance scale; left out: the tier's own."
    )
    negativePrompt = TextField(
        max_length=1000,
        required=False,
        allow_blank=True,
        source="negative_prompt",
        help_text="What to keep out of these pictures; left out: the shot's own.",
    )


class PaintedSerializer(serializers.ModelSerializer[Any]):
    """A picture painted to choose from (a shot's candidate, a gallery's picture): its file's
    URLs and size, and what it was painted from."""

    url = serializers.SerializerMethodField()
    thumbnailUrl = serializers.SerializerMethodField()
    fileSize = serializers.IntegerField(source="file_size", read_only=True)
    negativePrompt = serializers.CharField(source="negative_prompt", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    FIELDS = ["id", "url", "thumbnailUrl", "width", "height", "fileSize", "seed", "steps", "guidance", "source"]

    def get_url(self, picture: Any) -> str | None:
        return media_url(picture.file)

    def get_thumbnailUrl(self, picture: Any) -> str | None:  # noqa: N802 - the JSON name
        return thumbnail_url(picture.file)


class CandidateSerializer(PaintedSerializer):
    """A picture painted for a shot to choose from."""

    chosenAt = serializers.DateTimeField(source="chosen_at", read_only=True, allow_null=True)

    class Meta:
        model = Candidate
        fields = [*PaintedSerializer.FIELDS, "prompt", "negativePrompt", "chosenAt", "createdAt"]
        read_only_fields = fields


class StudioRequestSerializer(CandidatesRequestSerializer):
    prompt = TextField(min_length=1, max_length=2000, help_text="What the pictures show (English paints best).")
    negativePrompt = TextField(
        max_length=1000, required=False, allow_blank=True, source="negative_prompt", help_text="What to keep out."
    )
    tier = serializers.ChoiceField(
        choices=IMAGE_TIERS, required=False, help_text="The picture tier; left out: the installation's (IMAGE_TIER)."
    )
    style = StyleField(required=False)  # type: ignore[assignment]  # not Field.style
    aspectRatio = serializers.ChoiceField(choices=list(ASPECT_RATIOS), source="aspect_ratio", default="16:9")
    resolution = serializers.ChoiceField(choices=list(RESOLUTIONS), default="720p")


class StudioTaskSerializer(TaskSerializer):
    estimatedSeconds = serializers.SerializerMethodField(
        help_text="How long it should take to run, from this installation's typical times; null before any."
    )

    class Meta(TaskSerializer.Meta):
        fields = [*TaskSerializer.Meta.fields, "estimatedSeconds"]

    def get_estimatedSeconds(self, task: Any) -> float | None:  # noqa: N802 - the JSON name
        return estimated_seconds(task)


class PictureSerializer(PaintedSerializer):
    """A picture of the person's gallery (the image studio's)."""

    taskId = serializers.UUIDField(source="task_id", read_only=True, allow_null=True)

    class Meta:
        model = Picture
        fields = [*PaintedSerializer.FIELDS, "prompt", "negativePrompt", "style", "tier", "taskId", "createdAt"]
        read_only_fields = fields


class PictureUseSerializer(StrictSerializer):
    shotId = serializers.UUIDField(source="shot_id", help_text="The shot (of one of your films) to take the picture.")


class GenerateBatchSerializer(GenerateSerializer):
    shotIds = serializers.ListField(
        child=serializers.UUIDField(),
        allow_empty=False,
        max_length=SHOTS_PER_BATCH,
        source="shot_ids",
        help_text=f"The shots whose stage to make again (at most {SHOTS_PER_BATCH}), of any of your projects.",
    )

    def validate_shotIds(self, value: list[Any]) -> list[Any]:  # noqa: N802 - the JSON name
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Name each shot once.")
        return value


class ShotVersionSerializer(serializers.ModelSerializer[ShotVersion]):
    """One earlier (or the current) result of a stage, with what made it."""

    stage = serializers.ChoiceField(choices=list(STAGES), read_only=True)
    url = serializers.SerializerMethodField()
    thumbnailUrl = serializers.SerializerMethodField(help_text="A picture's thumbnail (WebP, 320 px wide).")
    own = serializers.SerializerMethodField()
    current = serializers.SerializerMethodField()
    prompt = serializers.SerializerMethodField()
    narration = serializers.SerializerMethodField()
    seed = serializers.SerializerMethodField(help_text="A picture: the seed it was painted with.")
    madeFrom = serializers.CharField(source="made_from", read_only=True)
    restoredFrom = serializers.IntegerField(source="restored_from", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = ShotVersion
        fields = [
            "id",
            "stage",
            "number",
            "url",
            "thumbnailUrl",
            "hash",
            "source",
            "own",
            "current",
            "prompt",
            "narration",
            "seed",
            "madeFrom",
            "restoredFrom",
            "createdAt",
        ]
        read_only_fields = fields

    def get_url(self, version: ShotVersion) -> str | None:
        return media_url(version.file)

    def get_thumbnailUrl(self, version: ShotVersion) -> str | None:  # noqa: N802 - the JSON name
        return thumbnail_url(version.file)

    def get_own(self, version: ShotVersion) -> bool:
        return version.source.startswith(OWN)

    def get_current(self, version: ShotVersion) -> bool:
        """Whether it is the shot's result now: the stage's newest, and the shot still has it."""
        newest = self.context["newest"].get(version.stage)
        return version.number == newest and version.shot.result(stage_named(version.stage)).hash == version.hash

    def get_prompt(self, version: ShotVersion) -> str | None:
        prompt = version.fields.get("prompt")
        return None if prompt is None else str(prompt)

    def get_narration(self, version: ShotVersion) -> str | None:
        narration = version.fields.get("narration")
        return None if narration is None else str(narration)

    def get_seed(self, version: ShotVersion) -> int | None:
        seed = version.fields.get("seed")
        return None if seed is None else int(seed)


class ShotQuerySerializer(StrictSerializer):
    approved = serializers.BooleanField(
        required=False, default=None, allow_null=True, help_text="Only the approved shots (true) or the others (false)."
    )


class VersionQuerySerializer(StrictSerializer):
    stage = StageChoiceField(required=False)
