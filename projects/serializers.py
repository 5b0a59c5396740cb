from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import FiniteFloatField, StrictSerializer, TextField, media_url
from inference.styles import ASPECT_RATIOS, LANGUAGES, RESOLUTIONS, STYLE_CHOICES, frame_size
from projects.models import Character, Member, Project, StoryboardSnapshot, Turn
from projects.validators import validate_story_length, validate_voice
from shots.serializers import ShotSerializer
from tasks.serializers import TaskSerializer


class RenderSerializer(serializers.Serializer):
    videoUrl = serializers.CharField(allow_null=True)
    posterUrl = serializers.CharField(allow_null=True)
    srtUrl = serializers.CharField(allow_null=True)
    vttUrl = serializers.CharField(allow_null=True)
    timelineUrl = serializers.CharField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    version = serializers.CharField()
    renderedAt = serializers.DateTimeField(allow_null=True)


class ProjectSerializer(serializers.ModelSerializer[Project]):
    aspectRatio = serializers.CharField(source="aspect_ratio", read_only=True)
    shotCount = serializers.IntegerField(source="shot_count", read_only=True)
    autoRender = serializers.BooleanField(source="auto_render", read_only=True)
    animate = serializers.BooleanField(read_only=True)
    burnSubtitles = serializers.BooleanField(source="burn_subtitles", read_only=True)
    subtitleSpeakers = serializers.BooleanField(source="subtitle_speakers", read_only=True)
    bilingualSubtitles = serializers.BooleanField(source="bilingual_subtitles", read_only=True)
    musicVolumeDb = serializers.FloatField(source="music_volume_db", read_only=True)
    statusLabel = serializers.CharField(
        source="get_status_display", read_only=True, help_text="The status in words, as the pages show it."
    )
    statusMessage = serializers.CharField(source="status_message", read_only=True)
    statusParts = serializers.ListField(
        source="status_parts",
        child=serializers.DictField(),
        read_only=True,
        help_text="statusMessage as sentences: each a code (projects.pipeline.STATUS_SENTENCES) and its values.",
    )
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
            "story",
            "language",
            "style",
            "aspectRatio",
            "resolution",
            "width",
            "height",
            "shotCount",
            "voice",
            "autoRender",
            "animate",
            "burnSubtitles",
            "subtitleSpeakers",
            "bilingualSubtitles",
            "music",
            "musicVolumeDb",
            "status",
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
        }


class ProjectUpdateSerializer(StrictSerializer):
    title = TextField(max_length=200, required=False, multiline=False)
    story = TextField(required=False, validators=[validate_story_length])
    style = serializers.ChoiceField(choices=STYLE_CHOICES, required=False)  # type: ignore[assignment]  # not Field.style
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
    story = TextField(min_length=1, validators=[validate_story_length])
    language = serializers.ChoiceField(choices=LANGUAGES, required=False, help_text="Detected when omitted.")


class CharacterSerializer(serializers.ModelSerializer[Character]):
    projectId = serializers.UUIDField(source="project_id", read_only=True)
    shotIds = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = Character
        fields = ["id", "projectId", "name", "description", "seed", "voice", "shotIds", "createdAt", "updatedAt"]
        read_only_fields = fields

    def get_shotIds(self, character: Character) -> list[str]:  # noqa: N802 - the JSON name
        return [str(shot.id) for shot in character.shots.all()]


class CharacterWriteSerializer(StrictSerializer):
    name = TextField(max_length=100, required=False, multiline=False)
    description = TextField(max_length=1000, required=False, allow_blank=True)
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


class DraftSerializer(serializers.Serializer):
    stage = serializers.CharField()
    runs = serializers.CharField(help_text="The back end that ran.")
    spec = serializers.CharField(help_text="The back end configured, which could not run.")
    reason = serializers.CharField()


class StoryboardSerializer(serializers.Serializer):
    project = ProjectSerializer()
    characters = CharacterSerializer(many=True)
    shots = ShotSerializer(many=True)
    tasks = TaskSerializer(many=True, help_text="The latest task of each kind per shot, and the project's own.")
    drafts = DraftSerializer(many=True, help_text="Stages whose newest result a draft back end made, and why.")


class ProjectCreatedSerializer(serializers.Serializer):
    project = ProjectSerializer()
    tasks = TaskSerializer(many=True)


class ProjectBatchSerializer(StrictSerializer):
    projects: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=ProjectCreateSerializer(),
        allow_empty=False,
        max_length=settings.PROJECT_BATCH_MAX,
        help_text="The projects to make, each as POST /api/v1/projects takes it (PROJECT_BATCH_MAX at most).",
    )


class ProjectBatchCreatedSerializer(serializers.Serializer):
    projects = ProjectCreatedSerializer(many=True)


class RenderRequestSerializer(StrictSerializer):
    force = serializers.BooleanField(
        default=False,
        help_text="Render although some shots' picture, clip or voice failed (409 names them otherwise).",
    )


class WebhookSerializer(StrictSerializer):
    url = serializers.URLField(max_length=500, help_text="Called (POST, JSON) when a render finishes or fails.")


class WebhookAnswerSerializer(serializers.Serializer):
    url = serializers.URLField()
    secret = serializers.CharField(help_text="HMAC-SHA256 key of X-StoryVideo-Signature: t=<time>,v1=<hex>.")


class RefineSerializer(StrictSerializer):
    instruction = TextField(
        min_length=1,
        max_length=500,
        multiline=False,
        help_text='What to change, e.g. "make it night, closer on the cat".',
    )
    narration = serializers.BooleanField(default=False, help_text="Let the model rewrite the narration too.")


class TurnSerializer(serializers.ModelSerializer[Turn]):
    """One exchange of the project's conversation with the language model."""

    shotId = serializers.UUIDField(source="shot_id", read_only=True, allow_null=True)
    taskId = serializers.UUIDField(source="task_id", read_only=True, allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Turn
        fields = [
            "id",
            "shotId",
            "taskId",
            "instruction",
            "before",
            "after",
            "changed",
            "backend",
            "model",
            "createdAt",
        ]
        read_only_fields = fields


class TurnQuerySerializer(StrictSerializer):
    shotId = serializers.UUIDField(source="shot_id", required=False, help_text="Only the turns on this shot.")


class StoryboardRefineSerializer(StrictSerializer):
    instruction = TextField(
        min_length=1, max_length=500, multiline=False, help_text='What to change, e.g. "fewer shots, more suspense".'
    )


class SnapshotSerializer(serializers.ModelSerializer[StoryboardSnapshot]):
    """An earlier storyboard, kept before a rewrite or a restore."""

    shots = serializers.SerializerMethodField(help_text="How many shots it had.")
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = StoryboardSnapshot
        fields = ["id", "reason", "shots", "createdAt"]
        read_only_fields = fields

    def get_shots(self, snapshot: StoryboardSnapshot) -> int:
        return len(snapshot.data.get("shots", []))


class TranslateSerializer(StrictSerializer):
    language = serializers.ChoiceField(choices=LANGUAGES, help_text="The new project's language.")


class StoryDraftSerializer(StrictSerializer):
    idea = TextField(min_length=1, max_length=500, multiline=False, help_text="A line or two: what the story is about.")
    language = serializers.ChoiceField(choices=LANGUAGES, help_text="The story's language.")
    genre = TextField(max_length=100, required=False, allow_blank=True, multiline=False, default="")
    length = serializers.ChoiceField(choices=["short", "medium"], default="short", help_text="8-12 or 20-30 sentences.")


class StoryDraftedSerializer(serializers.Serializer):
    project = ProjectSerializer()
    task = TaskSerializer()


class MemberSerializer(serializers.ModelSerializer[Member]):
    userId = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Member
        fields = ["userId", "username", "role", "createdAt"]
        read_only_fields = fields


class MemberWriteSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Member.Role.choices, help_text="viewer: watch and download; editor: change.")


class ShareLinkSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    token = serializers.CharField(help_text="Signed; GET /api/v1/shared/{token} reads the film.")
    url = serializers.CharField(help_text="The page that plays the film, for anyone with the link.")
    createdAt = serializers.DateTimeField()


class SharedFilmSerializer(serializers.Serializer):
    title = serializers.CharField()
    language = serializers.CharField()
    render = RenderSerializer(allow_null=True)


ABSOLUTE_PATH = re.compile(r"^(?:/|[A-Za-z]:[\\/]|\\\\)[^\x00-\x1f\x7f]*$")


class ExportQuerySerializer(StrictSerializer):
    draftsFolder = serializers.CharField(
        max_length=400,
        required=False,
        default="",
        allow_blank=True,
        help_text="jianying: the JianYing drafts folder on the machine that opens the draft, as an "
        "absolute path (C:\\Users\\mei\\AppData\\Local\\JianyingPro\\User Data\\Projects\\"
        "com.lveditor.draft); without it JianYing asks once to relink the draft's materials folder.",
    )

    def validate_draftsFolder(self, value: str) -> str:  # noqa: N802 - DRF names it after the field
        if value and not ABSOLUTE_PATH.match(value):
            raise serializers.ValidationError("Give the JianYing drafts folder as an absolute path (C:\\… or /…).")
        return value


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
