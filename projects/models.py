from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.secrets import EncryptedCharField
from core.storage import MediaFileField
from inference.styles import ASPECT_RATIOS, IMAGE_TIERS, LANGUAGES, RESOLUTIONS, STYLE_MAX_CHARS


class Project(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        STORYBOARDING = "storyboarding", _("Writing the storyboard")
        GENERATING = "generating", _("Generating shots")
        READY = "ready", _("Ready")
        RENDERING = "rendering", _("Rendering")
        RENDERED = "rendered", _("Rendered")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects")
    title = models.CharField(max_length=200)
    story = models.TextField()
    description = models.TextField(
        blank=True, help_text="What the film is, in the owner's words (not used to make it)."
    )
    language = models.CharField(max_length=8, choices=[(code, code) for code in LANGUAGES])
    style = models.CharField(
        max_length=STYLE_MAX_CHARS,
        default="storybook",
        help_text="A preset's key, or words that name none: they go into every picture prompt.",
    )
    aspect_ratio = models.CharField(max_length=8, choices=[(k, k) for k in ASPECT_RATIOS], default="16:9")
    resolution = models.CharField(max_length=8, choices=[(k, k) for k in RESOLUTIONS], default="720p")
    shot_count = models.PositiveSmallIntegerField(default=8)
    voice = models.CharField(max_length=100, blank=True, help_text="Speech back end spec; blank follows the language.")
    music = MediaFileField(upload_to="music/", blank=True)
    music_volume_db = models.FloatField(default=0.0, help_text="The music's level against its normalised -30 LUFS.")
    auto_render = models.BooleanField(default=True, help_text="Compose the film once every shot is ready.")
    burn_subtitles = models.BooleanField(default=True)
    bilingual_subtitles = models.BooleanField(
        default=False, help_text="A translated film's subtitles show the original narration beneath."
    )
    subtitle_speakers = models.BooleanField(
        default=False, help_text="Subtitles name the character speaking a shot's lines (“Ada: …”)."
    )
    animate = models.BooleanField(default=False, help_text="Animate keyframes with the motion model.")
    tier = models.CharField(
        max_length=8,
        choices=[(t, t) for t in IMAGE_TIERS],
        default="fast",
        help_text="The pictures' tier: draft (title cards), fast (IMAGE_MODEL), quality (IMAGE_MODEL_QUALITY).",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    status_message = models.CharField(max_length=500, blank=True)
    progress = models.PositiveSmallIntegerField(default=0, help_text="0-100: how far the project is towards its film.")
    status_parts = models.JSONField(default=list, blank=True, help_text="The status line as sentence codes and values.")
    webhook_url = models.URLField(max_length=500, blank=True, help_text="Called when a render finishes or fails.")
    webhook_secret = EncryptedCharField(blank=True, help_text="Signs the webhook's calls (kept encrypted).")
    media_generation = models.PositiveIntegerField(
        default=0, help_text="Its media links are signed for this; moved on when a member or a link goes."
    )

    # The latest good render; replaced only by a render that was probed and found whole.
    render_video = MediaFileField(upload_to="renders/", blank=True)
    render_srt = MediaFileField(upload_to="renders/", blank=True)
    render_vtt = MediaFileField(upload_to="renders/", blank=True)
    render_poster = MediaFileField(upload_to="renders/", blank=True)
    render_timeline = MediaFileField(upload_to="renders/", blank=True)
    render_hash = models.CharField(max_length=64, blank=True)
    render_duration = models.FloatField(null=True, blank=True)
    render_manifest = models.JSONField(default=dict, blank=True, help_text="Segments and cues of the latest render.")
    rendered_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="project_owner_recent")]

    def __str__(self) -> str:
        return self.title

    def media_scope(self) -> str:
        """What its media links are signed for (``core.storage.MediaFieldFile``)."""
        return f"{self.pk}.{self.media_generation}"


class Character(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="characters")
    name = models.CharField(max_length=100)
    description = models.TextField(max_length=1000, blank=True, help_text="Who it is, folded into every shot.")
    # Its looks, each folded into the picture prompt of every shot it is in; its personality
    # guides the language model's rewrites of its shots.
    appearance = models.TextField(max_length=500, blank=True, help_text="Face, hair, build.")
    clothing = models.TextField(max_length=300, blank=True, help_text="What it wears.")
    age = models.CharField(max_length=40, blank=True, help_text="In words: a child, in her thirties, 老年.")
    personality = models.TextField(max_length=300, blank=True, help_text="How it behaves and speaks.")
    reference_image = MediaFileField(
        upload_to="characters/reference/", blank=True, help_text="What it should look like: uploaded or a shot's."
    )
    likeness = models.JSONField(
        default=dict, blank=True, help_text="How alike its pictures are (the newest check): score, shots, against."
    )
    seed = models.PositiveBigIntegerField(help_text="Fixed seed so the character looks the same in every shot.")
    voice = models.CharField(
        max_length=100, blank=True, help_text="The voice of its lines (one of its language's); blank: the narrator's."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="character_unique_name")]

    def __str__(self) -> str:
        return self.name

    def media_scope(self) -> str:
        return str(self.project.media_scope())

    @property
    def likeness_stale(self) -> bool:
        """Whether its pictures changed since its likeness was measured: a shot drawn again, or a
        shot it is in with a picture that was not measured (or one measured no longer with it)."""
        measured = {entry["shotId"]: entry.get("imageHash") for entry in self.likeness.get("shots", [])}
        now = {str(shot.pk): shot.image_hash for shot in self.shots.all() if shot.image_file}
        return bool(self.likeness) and measured != now

    # The fields a picture of it is made from: a change to one draws its shots again.
    LOOKS = ("description", "appearance", "age", "clothing")

    @property
    def looks(self) -> str:
        """Its looks in the picture prompt's words: who it is, its appearance, its age, what it wears."""
        wearing = f"wearing {self.clothing.strip()}" if self.clothing.strip() else ""
        parts = (self.description.strip(), self.appearance.strip(), self.age.strip(), wearing)
        return ", ".join(part.rstrip(".") for part in parts if part)


class Turn(models.Model):
    """One exchange of the conversation a person has with the language model about the project:
    the instruction, and what it changed (the shot's text before and after). The next
    instruction on the shot is sent with the earlier ones, so it builds on them."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="turns")
    shot = models.ForeignKey("shots.Shot", on_delete=models.SET_NULL, null=True, blank=True, related_name="turns")
    task = models.OneToOneField("tasks.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="turn")
    instruction = models.TextField(max_length=500)
    before = models.JSONField(default=dict, help_text="The shot's prompt and narration the model was given.")
    after = models.JSONField(default=dict, help_text="What the model made of them.")
    changed = models.JSONField(default=list, help_text="The fields that changed (prompt, narration).")
    backend = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "created_at"]
        indexes = [models.Index(fields=["shot", "created_at"], name="turn_shot_recent")]

    def __str__(self) -> str:
        return self.instruction[:60]


class StoryboardSnapshot(models.Model):
    """The storyboard as it was before a rewrite or a restore (its shots' text, settings and
    files), so the person can bring it back. Its files are held (SnapshotFile) until it is
    pruned: the newest STORYBOARD_SNAPSHOTS_KEPT of a project are kept."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="snapshots")
    reason = models.CharField(max_length=600)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "-created_at"]

    def __str__(self) -> str:
        return self.reason[:60]


class SnapshotFile(models.Model):
    """A stored file a snapshot names: while the row is here, the file is not released."""

    snapshot = models.ForeignKey(StoryboardSnapshot, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to="shots/")

    def __str__(self) -> str:
        return self.file.name


class RenderSegment(models.Model):
    """One shot's joined segment that the project's latest render names (its manifest, the
    timeline export, the bundle): while the row is here, the file is not released."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="render_segments")
    file = models.FileField(upload_to="renders/segments/", max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "file"], name="render_segment_unique_file")]

    def __str__(self) -> str:
        return self.file.name


class Member(models.Model):
    """Someone the owner shared the project with, as a viewer (watch and download) or an editor
    (change the storyboard and make media). Sharing, deleting and the webhook stay the owner's."""

    class Role(models.TextChoices):
        VIEWER = "viewer", _("Viewer")
        EDITOR = "editor", _("Editor")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_projects")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "created_at"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="member_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class ShareLink(models.Model):
    """A read-only link to watch the film without an account. Its token is the row's id, signed
    (``projects.sharing``); revoking the row makes every copy of the link stop working."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="share_links")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project", "-created_at"]

    def __str__(self) -> str:
        return f"{self.project} link {self.id}"


class ProjectMade(models.Model):
    """One row per project a user made (created, imported, duplicated, drafted from an idea): the
    hourly allowance (QUOTA_PROJECTS_PER_HOUR) counts these, and deleting a project does not give
    its row back."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    made_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "made_at"])]

    def __str__(self) -> str:
        return f"a project made by user {self.owner_id} at {self.made_at:%Y-%m-%d %H:%M}"


class PromptTemplate(models.Model):
    """A way of writing a picture prompt from what the optimiser read of a request (its
    entities), for one style or any (``projects.prompts``); staff edit them in the admin. Each
    comma-separated part is kept only where every ``{entity}`` it names was read; ``|`` gives a
    part's fallbacks, the first whose entities are all there taken."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    style = models.CharField(
        max_length=STYLE_MAX_CHARS, blank=True, help_text="The style preset it is for (its key); blank: any style."
    )
    text = models.TextField(
        max_length=1000,
        help_text="Parts separated by commas, each with {subjects}, {setting}, {timeOfDay}, {mood}, {shotSize}, "
        "{cameraAngle} or none; | separates a part's fallbacks. Example: {shotSize} of {subjects}|{subjects}, "
        "{setting}, {timeOfDay}, {mood} mood",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["style", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.style or 'any style'})"

    def clean(self) -> None:
        from projects.prompts import template_problem

        problem = template_problem(self.text)
        if problem:
            raise ValidationError({"text": problem})


class PromptDraft(models.Model):
    """One request to the prompt optimiser and what it made of it: the entities read (by the
    language model, or the draft's keyword reading), the person's answers to its questions, the
    template that wrote the prompt, and the person's rating (which ranks their templates)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="prompt_drafts")
    shot = models.ForeignKey(
        "shots.Shot", on_delete=models.CASCADE, null=True, blank=True, related_name="prompt_drafts"
    )
    task = models.ForeignKey("tasks.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    prompt = models.TextField(max_length=2000, help_text="What the person asked for.")
    style = models.CharField(max_length=STYLE_MAX_CHARS, blank=True)
    entities = models.JSONField(default=dict, blank=True, help_text="What was read; empty until it is.")
    answers = models.JSONField(default=dict, blank=True, help_text="The person's answers, by entity.")
    template = models.ForeignKey(
        PromptTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="drafts"
    )
    result = models.TextField(max_length=2000, blank=True)
    backend = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=200, blank=True)
    note = models.CharField(max_length=500, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="prompt_owner_recent")]

    def __str__(self) -> str:
        return f"Prompt draft {self.id} of {self.owner_id}"
