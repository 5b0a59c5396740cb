from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import FiniteFloatField, StrictSerializer, StyleField, TextField, media_url
from core.engines import image_prompt, voice_cast
from inference.styles import (
    ASPECT_RATIOS,
    IMAGE_TIERS,
    LANGUAGES,
    RESOLUTIONS,
    frame_size,
    style_key,
    style_preset,
)
from projects.models import Character, Project
from projects.selectors import clips_stored
from projects.validators import validate_story_length, validate_story_readable, validate_voice


class RenderSerializer(serializers.Serializer):
    videoUrl = serializers.CharField(allow_null=True)
    posterUrl = serializers.CharField(allow_null=True)
    srtUrl = serializers.CharField(allow_null=True)
    vttUrl = serializers.CharField(allow_null=True)
    timelineUrl = serializers.CharField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    version = serializers.CharField()
    renderedAt = serializers.DateTimeField(allow_null=True)
    clipsReady = serializers.BooleanField(
        help_text="Whether each shot's clip for an editor is made (the timeline exports and the bundle carry them; "
        "they are made after the film, and those exports answer 409 until then)."
    )
    shots = serializers.ListField(
        child=serializers.DictField(),
        help_text="Each shot as the film has it: shotId, start (seconds: where its own picture begins, after the "
        "transition into it) and end (where the next one's begins, or the film's end).",
    )


TIER_HELP = (
    "How the pictures are painted: draft (drawn title cards, no model), fast (sd-turbo), quality (FLUX.1-schnell); "
    "the operator sets what each tier runs (GET /api/v1/system: tiers)."
)


class ProjectSerializer(serializers.ModelSerializer[Project]):
    aspectRatio = serializers.CharField(source="aspect_ratio", read_only=True)
    shotCount = serializers.IntegerField(source="shot_count", read_only=True)
    autoRender = serializers.BooleanField(source="auto_render", read_only=True)
    animate = serializers.BooleanField(read_only=True)
    tier = serializers.ChoiceField(choices=IMAGE_TIERS, read_only=True, help_text=TIER_HELP)
    burnSubtitles = serializers.BooleanField(source="burn_subtitles", read_only=True)
    subtitleSpeakers = serializers.BooleanField(source="subtitle_speakers", read_only=True)
    bilingualSubtitles = serializers.BooleanField(source="bilingual_subtitles", read_only=True)
    musicVolumeDb = serializers.FloatField(source="music_volume_db", read_only=True)
    statusLabel = serializers.CharField(
        source="get_status_display", read_only=True, help_text="The status in words, as the pages show it."
    )
    progress = serializers.IntegerField(
        read_only=True, help_text="0-100: how far the project is towards its film (it moves as tasks end)."
    )
    statusMessage = serializers.CharField(source="status_message", read_only=True)
    statusParts = serializers.ListField(
        source="status_parts",
        child=serializers.DictField(),
        read_only=True,
        help_text="statusMessage as sentences: each a code (projects.pipeline.STATUS_SENTENCES) and its values.",
    )
    stylePreset = serializers.SerializerMethodField(
        help_text="The preset the style names, or null: its own words are then added to every picture prompt."
    )
    stylePrompt = serializers.SerializerMethodField(help_text="The words the style adds to every picture prompt.")
    width = serializers.SerializerMethodField()
    height = serializers.SerializerMethodField()
    render = serializers.SerializerMethodField()
    music = serializers.SerializerMethodField(help_text="The background music's file name, or empty.")
    ownerId = serializers.IntegerField(
        source="owner_id", read_only=True, help_text="Its owner's user id: another's is shared with you (…/members)."
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Project
        fields = [
            "id",
            "ownerId",
            "title",
            "description",
            "story",
            "language",
            "style",
            "stylePreset",
            "stylePrompt",
            "aspectRatio",
            "resolution",
            "width",
            "height",
            "shotCount",
            "voice",
            "autoRender",
            "animate",
            "tier",
            "burnSubtitles",
            "subtitleSpeakers",
            "bilingualSubtitles",
            "music",
            "musicVolumeDb",
            "status",
            "progress",
            "statusLabel",
            "statusMessage",
            "statusParts",
            "render",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = fields

    def get_music(self, project: Project) -> str:
        return project.music.name.rsplit("/", 1)[-1] if project.music else ""

    def get_stylePreset(self, project: Project) -> str | None:  # noqa: N802 - the JSON name
        return style_key(project.style)

    def get_stylePrompt(self, project: Project) -> str:  # noqa: N802 - the JSON name
        return style_preset(project.style).prompt

    def get_width(self, project: Project) -> int:
        return frame_size(project.aspect_ratio, project.resolution)[0]

    def get_height(self, project: Project) -> int:
        return frame_size(project.aspect_ratio, project.resolution)[1]

    @extend_schema_field(RenderSerializer(allow_null=True))
    def get_render(self, project: Project) -> dict[str, Any] | None:
        if not project.render_video:
            return None
        version = project.render_hash
        return {  # datetimes as text: the same body goes out as a live update
            "videoUrl": media_url(project.render_video),
            "posterUrl": media_url(project.render_poster),
            "srtUrl": media_url(project.render_srt),
            "vttUrl": media_url(project.render_vtt),
            "timelineUrl": media_url(project.render_timeline),
            "duration": project.render_duration,
            "version": version,
            "renderedAt": serializers.DateTimeField().to_representation(project.rendered_at)
            if project.rendered_at
            else None,
            "clipsReady": clips_stored(project),
            "shots": film_shots(project),
        }


def film_shots(project: Project) -> list[dict[str, Any]]:
    """Where each shot plays in the rendered film (the render's manifest, in frames)."""
    manifest = project.render_manifest or {}
    fps = manifest.get("fps") or 1
    segments = manifest.get("segments", [])
    if not segments:
        return []
    starts = [round(segment["start"] / fps, 3) for segment in segments]
    ends = [*starts[1:], project.render_duration or starts[-1]]
    return [
        {"shotId": segment["shotId"], "start": start, "end": end}
        for segment, start, end in zip(segments, starts, ends, strict=True)
    ]


class ProjectUpdateSerializer(StrictSerializer):
    title = TextField(max_length=200, required=False, multiline=False)
    description = TextField(
        max_length=2000, required=False, allow_blank=True, help_text="What the film is, for you (not used to make it)."
    )
    story = TextField(required=False, validators=[validate_story_length, validate_story_readable])
    style = StyleField(required=False)  # type: ignore[assignment]  # not Field.style
    aspectRatio = serializers.ChoiceField(choices=list(ASPECT_RATIOS), source="aspect_ratio", required=False)
    resolution = serializers.ChoiceField(choices=list(RESOLUTIONS), required=False)
    shotCount = serializers.IntegerField(
        min_value=1, max_value=settings.SHOT_COUNT_MAX, source="shot_count", required=False
    )
    voice = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        validators=[validate_voice],
        help_text="A speech back end spec (piper:VOICE, espeak:VOICE, transformers:MODEL); blank follows the language.",
    )
    autoRender = serializers.BooleanField(source="auto_render", required=False)
    animate = serializers.BooleanField(required=False, help_text="Animate every keyframe with the motion model.")
    tier = serializers.ChoiceField(
        choices=IMAGE_TIERS, required=False, help_text=TIER_HELP + " A change paints every picture again."
    )
    burnSubtitles = serializers.BooleanField(source="burn_subtitles", required=False)
    subtitleSpeakers = serializers.BooleanField(
        source="subtitle_speakers", required=False, help_text="Subtitles name the character speaking (“Ada: …”)."
    )
    bilingualSubtitles = serializers.BooleanField(
        source="bilingual_subtitles",
        required=False,
        help_text="A translated film's subtitles show the original narration beneath.",
    )
    musicVolumeDb = FiniteFloatField(
        source="music_volume_db",
        min_value=-30,
        max_value=10,
        required=False,
        help_text="The music's level in dB against its normalised loudness (0: as normalised; -6: half as loud).",
    )


class ProjectCreateSerializer(ProjectUpdateSerializer):
    story = TextField(min_length=1, validators=[validate_story_length, validate_story_readable])
    language = serializers.ChoiceField(choices=LANGUAGES, required=False, help_text="Detected when omitted.")


class VoiceCastingSerializer(serializers.Serializer[Any]):
    voice = serializers.CharField()
    gender = serializers.ChoiceField(choices=["female", "male", ""])
    age = serializers.ChoiceField(choices=["old", "child", ""])
    manner = serializers.ChoiceField(choices=["deep", "bright", ""])


class CharacterSerializer(serializers.ModelSerializer[Character]):
    projectId = serializers.UUIDField(source="project_id", read_only=True)
    shotIds = serializers.SerializerMethodField()
    referenceImage = serializers.SerializerMethodField(
        help_text="Its reference picture's URL (signed), or null: POST …/reference with a shotId or a file."
    )
    suggestedVoice = serializers.SerializerMethodField(
        help_text="The voice its personality, age, looks and description suggest, among this installation's "
        "voices: {voice, gender (female, male or ''), age (old, child or ''), manner (deep, bright or '')}; null "
        "where they say nothing of a voice, or suggest the one it has. PATCH its voice to use it."
    )
    referenceGuides = serializers.SerializerMethodField(
        help_text="True where the project's picture tier has an IP-Adapter (IMAGE_IP_ADAPTER): the reference "
        "picture conditions the pictures of its shots, and a new one paints them again. False: the reference is "
        "what the likeness is measured against."
    )
    likeness = serializers.SerializerMethodField(
        help_text="The newest likeness check (POST …/likeness): score (1.0 alike), against (reference or others), "
        "shots (shotId, number, similarity, imageHash: the picture measured), drifting (the shot numbers that drift "
        "most), backend, note, checkedAt, and stale (its pictures changed since: check again); {} before any, or "
        "after the reference changed."
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Character
        fields = [
            "id",
            "projectId",
            "name",
            "description",
            "appearance",
            "clothing",
            "age",
            "personality",
            "referenceImage",
            "referenceGuides",
            "likeness",
            "seed",
            "voice",
            "suggestedVoice",
            "shotIds",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = fields

    def get_shotIds(self, character: Character) -> list[str]:  # noqa: N802 - the JSON name
        return [str(shot.id) for shot in character.shots.all()]

    def get_likeness(self, character: Character) -> dict[str, Any]:
        return character.likeness | {"stale": character.likeness_stale} if character.likeness else {}

    @extend_schema_field(VoiceCastingSerializer(allow_null=True))
    def get_suggestedVoice(self, character: Character) -> dict[str, str] | None:  # noqa: N802 - the JSON name
        casting = voice_cast(character)
        return asdict(casting) if casting is not None and casting.voice != character.voice else None

    def get_referenceGuides(self, character: Character) -> bool:  # noqa: N802 - the JSON name
        return image_prompt(character.project.tier) is not None

    def get_referenceImage(self, character: Character) -> str | None:  # noqa: N802 - the JSON name
        return character.reference_image.url if character.reference_image else None


class CharacterWriteSerializer(StrictSerializer):
    name = TextField(max_length=100, required=False, multiline=False)
    description = TextField(max_length=1000, required=False, allow_blank=True, help_text="Who it is.")
    appearance = TextField(max_length=500, required=False, allow_blank=True, help_text="Face, hair, build.")
    clothing = TextField(max_length=300, required=False, allow_blank=True, help_text="What it wears.")
    age = TextField(max_length=40, required=False, allow_blank=True, multiline=False, help_text="In words.")
    personality = TextField(
        max_length=300,
        required=False,
        allow_blank=True,
        help_text="How it behaves and speaks: guides the language model's rewrites of its shots.",
    )
    seed = serializers.IntegerField(min_value=0, max_value=2**32 - 1, required=False)
    voice = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        validators=[validate_voice],
        help_text="The voice speaking its lines, one of its language's (GET /api/v1/voices); blank: the narrator's.",
    )


class CharacterCreateSerializer(CharacterWriteSerializer):
    name = TextField(max_length=100, multiline=False)
