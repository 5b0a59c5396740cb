from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.storage import MediaFileField
from inference.styles import CAMERA_ANGLES, CAMERA_MOVES, SHOT_SIZES, TRANSITIONS, motion_words, spoken_seconds
from shots.stages import Stage, StageResult


class Shot(models.Model):
    """One shot of the storyboard.

    Each stage (``shots.stages``: image, motion, speech) has its current file, the content hash
    of that file, a version bumped whenever an edit changes the stage's inputs (a task made for
    an older version is superseded and its result discarded), and what produced it; read them
    through ``shot.result(stage)``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="shots")
    order = models.PositiveIntegerField()
    prompt = models.TextField(max_length=2000)
    negative_prompt = models.TextField(max_length=1000, blank=True)
    narration = models.TextField(max_length=2000, blank=True)
    # In a translated project: the narration in the language it was translated from.
    original_narration = models.TextField(max_length=2000, blank=True)
    camera = models.CharField(max_length=16, choices=[(c, c) for c in CAMERA_MOVES], default="zoom_in")
    transition = models.CharField(max_length=16, choices=[(t, t) for t in TRANSITIONS], default="dissolve")
    shot_size = models.CharField(
        max_length=16, blank=True, choices=list(SHOT_SIZES.items()), help_text="Blank: not set (nothing in the prompt)."
    )
    camera_angle = models.CharField(
        max_length=16, blank=True, choices=list(CAMERA_ANGLES.items()), help_text="Blank: not set."
    )
    motion_prompt = models.TextField(
        max_length=1000, blank=True, help_text="What moves in the animated clip; blank: the prompt and the camera move."
    )
    pinned_duration = models.FloatField(null=True, blank=True, help_text="Seconds; overrides the narration's length.")
    # The seed the picture is painted with: a character's own where the shot shows one (so it
    # looks alike from shot to shot), drawn anew for each "new picture" unless pinned.
    seed = models.PositiveBigIntegerField()
    seed_pinned = models.BooleanField(default=False, help_text="A new picture keeps the seed (else it draws one).")
    characters = models.ManyToManyField("projects.Character", blank=True, related_name="shots")
    # Who speaks the narration: one of the project's characters (in its voice), or the narrator.
    speaker = models.ForeignKey(
        "projects.Character", null=True, blank=True, on_delete=models.SET_NULL, related_name="spoken_shots"
    )

    image_file = MediaFileField(upload_to="shots/image/", blank=True)
    image_hash = models.CharField(max_length=64, blank=True)
    image_version = models.PositiveIntegerField(default=1)
    image_source = models.CharField(max_length=200, blank=True)

    motion_file = MediaFileField(upload_to="shots/motion/", blank=True)
    motion_hash = models.CharField(max_length=64, blank=True)
    motion_version = models.PositiveIntegerField(default=1)
    motion_source = models.CharField(max_length=200, blank=True)

    speech_file = MediaFileField(upload_to="shots/speech/", blank=True)
    speech_hash = models.CharField(max_length=64, blank=True)
    speech_version = models.PositiveIntegerField(default=1)
    speech_source = models.CharField(max_length=200, blank=True)
    speech_duration = models.FloatField(null=True, blank=True)
    # (start, end, text) of each spoken sentence, when the speech engine gives them: subtitle timing.
    speech_sentences = models.JSONField(default=list, blank=True)
    locked = models.BooleanField(default=False, help_text="Kept exactly as it is when the storyboard is rewritten.")
    approved = models.BooleanField(default=False, help_text="The person has approved the shot as it is.")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project", "order", "created_at"]
        indexes = [models.Index(fields=["project", "order"], name="shot_project_order")]

    def __str__(self) -> str:
        return f"Shot {self.order + 1} of {self.project_id}"

    def media_scope(self) -> str:
        return str(self.project.media_scope())

    def result(self, stage: Stage) -> StageResult:
        """The stage's current result on this shot: its file, hash, version and source."""
        return StageResult(self, stage)

    @property
    def duration(self) -> float:
        """Seconds on screen: pinned, else the narration audio plus a pad, else a minimum."""
        if self.pinned_duration:
            return self.pinned_duration
        if self.speech_duration:
            return round(self.speech_duration + 0.6, 3)
        return 3.0

    @property
    def expected_duration(self) -> float:
        """Seconds on screen as far as they are known: ``duration``, or where the narration is
        not spoken yet, its length read at an ordinary pace (what an animated clip is made for)."""
        if self.pinned_duration or self.speech_duration or not self.narration.strip():
            return self.duration
        return round(max(3.0, spoken_seconds(self.narration) + 0.6), 3)

    @property
    def motion_text(self) -> str:
        """What the clip shows moving: the person's words, else the prompt and the camera move."""
        return self.motion_prompt.strip() or motion_words(self.prompt, self.camera)


class Candidate(models.Model):
    """One of the pictures painted for a shot to choose from (``shots.candidates``): not the
    shot's picture until chosen; one never chosen goes, with its file, CANDIDATES_KEEP_S after
    it was painted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    shot = models.ForeignKey(Shot, on_delete=models.CASCADE, related_name="candidates")
    file = MediaFileField(upload_to="shots/image/")
    hash = models.CharField(max_length=64)
    seed = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    file_size = models.PositiveIntegerField()
    source = models.CharField(max_length=200, help_text="The back end and model that painted it.")
    steps = models.PositiveIntegerField()
    guidance = models.FloatField()
    prompt = models.TextField(max_length=2000, help_text="The shot's prompt it was painted from.")
    negative_prompt = models.TextField(max_length=1000, blank=True)
    chosen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(
        default=timezone.now, help_text="When it was painted: one time for one request's."
    )

    class Meta:
        ordering = ["shot", "-created_at", "seed"]  # the newest request first, each in its seeds' order

    def __str__(self) -> str:
        return f"Candidate (seed {self.seed}) of {self.shot_id}"

    def media_scope(self) -> str:
        return self.shot.media_scope()


class Picture(models.Model):
    """A picture of a person's gallery, painted by the image studio outside any film
    (``shots.studio``): theirs until they delete it, and any of their shots can take it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pictures")
    task = models.ForeignKey("tasks.Task", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    file = MediaFileField(upload_to="gallery/")
    hash = models.CharField(max_length=64)
    seed = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    file_size = models.PositiveIntegerField()
    source = models.CharField(max_length=200, help_text="The back end and model that painted it.")
    steps = models.PositiveIntegerField()
    guidance = models.FloatField()
    prompt = models.TextField(max_length=2000)
    negative_prompt = models.TextField(max_length=1000, blank=True)
    style = models.CharField(max_length=200, blank=True)
    tier = models.CharField(max_length=16)
    created_at = models.DateTimeField(
        default=timezone.now, help_text="When it was painted: one time for one request's."
    )

    class Meta:
        ordering = ["-created_at", "seed"]  # the newest request first, each in its seeds' order
        indexes = [models.Index(fields=["owner", "-created_at"], name="picture_owner_recent")]

    def __str__(self) -> str:
        return f"Picture (seed {self.seed}) of {self.owner_id}"


class ShotVersion(models.Model):
    """One result a stage of a shot has had: its file, what produced it, when, and the shot's
    text that made it. Every result that lands (a model's, the person's own upload, a restore)
    adds one, so a person can look back and restore any of the newest ``SHOT_VERSIONS_KEPT``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    shot = models.ForeignKey(Shot, on_delete=models.CASCADE, related_name="versions")
    stage = models.CharField(max_length=8, help_text="The stage's name (shots.stages).")
    number = models.PositiveIntegerField(help_text="1, 2, … for each shot and stage.")
    file = MediaFileField(upload_to="shots/")
    hash = models.CharField(max_length=64)
    source = models.CharField(max_length=200, blank=True)
    fields = models.JSONField(default=dict, blank=True, help_text="The shot's fields that made it (its kept fields).")
    made_from = models.CharField(max_length=64, blank=True, help_text="A clip: the hash of the picture it animates.")
    restored_from = models.PositiveIntegerField(null=True, blank=True, help_text="The version it brought back.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shot", "stage", "-number"]
        constraints = [models.UniqueConstraint(fields=["shot", "stage", "number"], name="shot_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.stage} v{self.number} of {self.shot_id}"

    def media_scope(self) -> str:
        return self.shot.media_scope()
