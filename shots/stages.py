"""A shot's stages: the media a shot is made of, each declared once here.

A stage is a picture, a clip or a narration recording. Each declares the words a sentence uses
for it, what it is made from (a new picture makes the clip animated from the old one stale),
which of the shot's fields shape it (a new prompt, a new picture), which fields are kept with
each of its results (a restored picture brings its prompt back), and its four columns on the
shot: the current file, its content hash, a version bumped whenever its inputs change (a task
made for an older version is superseded and its result discarded), and what produced it. The
task kind that makes a stage bears its name (``shots.kinds``).

Adding a stage: its declaration here, its kind in ``shots/kinds.py`` with its engine call, and
a migration adding its columns (and any data of its own) to the shot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import F

if TYPE_CHECKING:
    from django.db.models.fields.files import FieldFile

    from shots.models import Shot

# A stage's source when the file is the person's own (an upload), not a model's: "own:<file name>".
OWN = "own:"


@dataclass(frozen=True)
class Stage:
    name: str  # and the name of the kind of task that makes it
    word: str  # one shot's result in a sentence: "Shot 3's picture failed"
    plural: str  # the results, as the project's notice names them: "pictures"
    own_word: str  # the person's own file in its place: "Shot 3's picture is your own upload"
    made_from: tuple[str, ...]  # the stages its result is made from
    shaped_by: tuple[str, ...]  # the shot's editable fields that shape its result
    kept_fields: tuple[str, ...]  # the shot's fields kept with each result, and put back with it
    file_field: str
    hash_field: str
    version_field: str
    source_field: str

    def __str__(self) -> str:
        return self.name

    @property
    def folder(self) -> str:
        """Where its files are stored."""
        return f"shots/{self.name}"

    def stored(self, *, file: str, digest: str, source: str) -> dict[str, Any]:
        """The update that puts a new result on a shot and supersedes the stage's work in flight."""
        return {self.file_field: file, self.hash_field: digest, self.source_field: source} | self.bumped()

    def cleared(self) -> dict[str, Any]:
        """The update that takes the stage's file off a shot and supersedes its work in flight."""
        return self.stored(file="", digest="", source="")

    def bumped(self) -> dict[str, Any]:
        """The update that supersedes the stage's work in flight (its version, plus one)."""
        return {self.version_field: F(self.version_field) + 1}


class StageResult:
    """One stage's current result on one shot (``shot.result(IMAGE)``), typed."""

    def __init__(self, shot: Shot, stage: Stage) -> None:
        self.shot, self.stage = shot, stage

    @property
    def file(self) -> FieldFile:
        file: FieldFile = getattr(self.shot, self.stage.file_field)
        return file

    @property
    def file_name(self) -> str:
        """The stored file's name; "" where the stage has none."""
        return self.file.name or ""

    @property
    def hash(self) -> str:
        return str(getattr(self.shot, self.stage.hash_field))

    @property
    def version(self) -> int:
        return int(getattr(self.shot, self.stage.version_field))

    @property
    def source(self) -> str:
        return str(getattr(self.shot, self.stage.source_field))

    @property
    def own(self) -> bool:
        """Whether the file is the person's own upload (regenerating it asks first)."""
        return self.source.startswith(OWN)

    def set(self, *, file: str, digest: str, source: str) -> None:
        """Put a result on the (locked) shot in memory; the caller saves it."""
        self.file.name = file
        setattr(self.shot, self.stage.hash_field, digest)
        setattr(self.shot, self.stage.source_field, source)


IMAGE = Stage(
    name="image",
    word="picture",
    plural="pictures",
    own_word="picture",
    made_from=(),
    shaped_by=("prompt", "negative_prompt", "seed", "character_ids", "shot_size", "camera_angle"),
    kept_fields=("prompt", "negative_prompt", "seed", "shot_size", "camera_angle"),
    file_field="image_file",
    hash_field="image_hash",
    version_field="image_version",
    source_field="image_source",
)
MOTION = Stage(
    name="motion",
    word="clip",
    plural="clips",
    own_word="clip",
    made_from=("image",),
    shaped_by=("motion_prompt", "camera"),  # the camera move, in words, is part of the motion prompt
    kept_fields=("motion_prompt",),
    file_field="motion_file",
    hash_field="motion_hash",
    version_field="motion_version",
    source_field="motion_source",
)
SPEECH = Stage(
    name="speech",
    word="voice",
    plural="voices",
    own_word="narration recording",
    made_from=(),
    shaped_by=("narration",),
    kept_fields=("narration", "speech_duration", "speech_sentences"),
    file_field="speech_file",
    hash_field="speech_hash",
    version_field="speech_version",
    source_field="speech_source",
)

STAGES: dict[str, Stage] = {stage.name: stage for stage in (IMAGE, MOTION, SPEECH)}


def stage_named(name: str) -> Stage:
    try:
        return STAGES[name]
    except KeyError:
        raise LookupError(f"No shot stage is named {name!r}.") from None


def with_dependents(stages: Iterable[Stage]) -> set[Stage]:
    """The stages, and every stage made from one of them (transitively)."""
    found = set(stages)
    while True:
        more = {stage for stage in STAGES.values() if {s.name for s in found} & set(stage.made_from)} - found
        if not more:
            return found
        found |= more


def shaped_by(field: str) -> set[Stage]:
    """The stages an edit of one of the shot's fields makes stale."""
    return {stage for stage in STAGES.values() if field in stage.shaped_by}
