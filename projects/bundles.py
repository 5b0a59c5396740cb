"""The bundle: everything about a project in one zip (project JSON, keyframes, narration,
segments, music, film, subtitles, timeline), and importing one back as a new project."""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any

import opentimelineio as otio
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from core.api import TextField
from core.engines import voice_choices
from core.errors import ApplicationError
from core.storage import atomic_with_files, local_path, store
from inference.errors import EngineError
from inference.media import VIDEO_FORMATS, probe
from inference.speech import voice_language, wav_info
from projects.models import Character, Project
from projects.serializers import CharacterCreateSerializer, ProjectCreateSerializer
from projects.throttles import new_projects_take
from shots.history import version_record
from shots.models import Shot
from shots.serializers import ShotWriteSerializer
from shots.services import new_seed, seed_follow_characters
from shots.stages import IMAGE, SPEECH

FORMAT = "storyvideo-bundle"
CHARACTER_TEXT = ("description", "appearance", "clothing", "age", "personality")  # a character's words
_MEMBER = re.compile(
    r"^(?:(?:keyframes|audio|segments|music|characters)/)?(?!\.\.?$)[A-Za-z0-9_.-]{1,100}$"
)  # not . or ..


class ShotBundleSerializer(ShotWriteSerializer):
    """A shot as the bundle carries it: the fields a client may set, its characters and its
    speaker by name beside."""

    prompt = TextField(max_length=2000)
    characterIds = None  # type: ignore[assignment]  # DRF: None removes an inherited field
    speakerId = None  # type: ignore[assignment]


SHOT_FIELDS = tuple(ShotBundleSerializer().fields)


def bundle_write(*, project: Project, path: Path) -> Path:
    """Write the project's bundle to ``path`` (a zip; media already compressed is stored)."""
    shots = list(project.shots.order_by("order").select_related("speaker").prefetch_related("characters"))
    manifest = project.render_manifest or {}
    segments = {item["shotId"]: item["file"] for item in manifest.get("segments", [])}
    files: dict[str, Any] = {}
    shot_entries = []
    for index, shot in enumerate(shots, 1):
        entry: dict[str, Any] = {
            **ShotBundleSerializer(shot).data,
            "characters": [c.name for c in shot.characters.all()],
            "speaker": shot.speaker.name if shot.speaker else "",
            "imageSource": shot.image_source,
            "speechSource": shot.speech_source,
            "speechDuration": shot.speech_duration,
        }
        if shot.image_file:
            entry["image"] = f"keyframes/shot-{index:02d}{Path(shot.image_file.name).suffix}"
            files[entry["image"]] = shot.image_file
        if shot.speech_file:
            entry["speech"] = f"audio/shot-{index:02d}.wav"
            files[entry["speech"]] = shot.speech_file
        if str(shot.id) in segments:
            files[f"segments/shot-{index:02d}.mp4"] = segments[str(shot.id)]
        shot_entries.append(entry)
    render: dict[str, Any] = {}
    for key, field, name in (
        ("video", project.render_video, "film.mp4"),
        ("srt", project.render_srt, "film.srt"),
        ("vtt", project.render_vtt, "film.vtt"),
        ("poster", project.render_poster, "poster.jpg"),
        ("timeline", project.render_timeline, "timeline.otio"),
    ):
        if field:
            render[key] = name
            files[name] = field
    if project.music:
        files[f"music/{Path(project.music.name).name}"] = project.music
    characters = []
    for index, c in enumerate(project.characters.all(), 1):
        entry = {"name": c.name, **{key: getattr(c, key) for key in CHARACTER_TEXT}, "seed": c.seed, "voice": c.voice}
        if c.reference_image:
            entry["reference"] = f"characters/reference-{index:02d}{Path(c.reference_image.name).suffix}"
            files[entry["reference"]] = c.reference_image
        characters.append(entry)
    body = {
        "format": FORMAT,
        "version": 1,
        "project": ProjectCreateSerializer(project).data,
        "characters": characters,
        "shots": shot_entries,
        "render": {
            **render,
            "duration": project.render_duration,
            "version": project.render_hash,
            "cues": manifest.get("cues", []),
        },
    }

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.json", json.dumps(body, ensure_ascii=False, indent=2), zipfile.ZIP_DEFLATED)
        for name, source in files.items():
            compress = (
                zipfile.ZIP_DEFLATED if name.endswith((".srt", ".otio", ".wav", ".xml", ".edl")) else zipfile.ZIP_STORED
            )
            if isinstance(source, str):
                with default_storage.open(source, "rb") as handle:
                    archive.writestr(zipfile.ZipInfo(name), handle.read(), compress)
            else:
                archive.write(local_path(source), name, compress)
    return path


# What each member a bundle names may be: checked by decoding and stored under the extension
# its kind gives, whatever the member was called, so a stored file is only ever what it says.
_SRT_CUE = re.compile(r"^\d+\n\d\d:\d\d:\d\d[,.]\d{3} --> \d\d:\d\d:\d\d[,.]\d{3}(?:\n|$)")
_MAX_TEXT_BYTES = 8 * 1024**2
_MAX_IMAGE_BYTES = 40 * 1024**2
_MAX_IMAGE_PIXELS = 4096 * 4096
_MAX_AUDIO_BYTES = 200 * 1024**2


def _read_member(archive: zipfile.ZipFile, name: Any, folder: Path, *, limit: int) -> Path | None:
    if not name:
        return None
    if not isinstance(name, str) or not _MEMBER.match(name) or name not in archive.namelist():
        raise ApplicationError(f"The bundle names a file it does not hold: {str(name)[:100]!r}.", field="bundle")
    if archive.getinfo(name).file_size > limit:
        raise ApplicationError(f"{name} is larger than a StoryVideo bundle's {name} could be.", field="bundle")
    target = folder / name.replace("/", "__")
    with archive.open(name) as source, open(target, "wb") as sink:
        while block := source.read(1 << 20):
            sink.write(block)
    return target


def _as(path: Path, suffix: str) -> Path:
    return path.rename(path.with_name(f"{path.stem}{suffix}"))


def _image(path: Path, formats: set[str]) -> Path:
    """A keyframe or poster: an image Pillow decodes, of a modest size, stored as its format."""
    try:
        with Image.open(path) as image:
            if image.format not in formats or image.width * image.height > _MAX_IMAGE_PIXELS:
                raise ValueError
            image.verify()
            suffix = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}[image.format]
    except Exception:
        what = " or ".join(sorted(formats))
        raise ApplicationError(f"{_shown(path)} is not a readable {what} image.", field="bundle") from None
    return _as(path, suffix)


def _speech(path: Path) -> tuple[Path, float]:
    try:
        duration = wav_info(path)[0]
    except EngineError:
        raise ApplicationError(f"{_shown(path)} is not a readable WAV file.", field="bundle") from None
    return _as(path, ".wav"), duration


def _film(path: Path) -> tuple[Path, float]:
    try:
        found = probe(path, formats=VIDEO_FORMATS)
    except EngineError:
        raise ApplicationError(f"{_shown(path)} is not a readable MP4 film.", field="bundle") from None
    if not found.video_streams or found.duration <= 0:
        raise ApplicationError("The bundle's film has no picture.", field="bundle")
    return _as(path, ".mp4"), found.duration


def _text(path: Path, kind: str) -> Path:
    """Subtitles (SRT, WebVTT) or an OpenTimelineIO timeline, parsed before it is kept."""
    try:
        text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
        if "\x00" in text:
            raise ValueError
        if kind == "srt":
            blocks = [b for b in text.strip().split("\n\n") if b.strip()]
            if not all(_SRT_CUE.match(block.strip()) for block in blocks):
                raise ValueError
        elif kind == "vtt":
            if not (text.startswith("WEBVTT") and text[6:7] in ("", "\n", " ", "\t")):
                raise ValueError
        elif not isinstance(otio.adapters.read_from_string(text, "otio_json"), otio.schema.Timeline):
            raise ValueError
    except Exception:
        names = {"srt": "SRT subtitles", "vtt": "WebVTT subtitles", "otio": "OpenTimelineIO timeline"}
        raise ApplicationError(f"{_shown(path)} is not a readable {names[kind]} file.", field="bundle") from None
    return _as(path, f".{kind}")


def _shown(path: Path) -> str:
    return path.name.replace("__", "/")


def _manifest(body: Any) -> dict[str, Any]:
    """project.json's shape, checked before anything in it is used."""
    if not isinstance(body, dict) or body.get("format") != FORMAT or body.get("version") != 1:
        raise ApplicationError("project.json is not a StoryVideo bundle of version 1.", field="bundle")
    shapes = {"project": dict, "characters": list, "shots": list, "render": dict}
    for key, kind in shapes.items():
        body.setdefault(key, kind())
        if not isinstance(body[key], kind):
            raise ApplicationError(f"project.json: {key!r} must be a JSON {kind.__name__}.", field="bundle")
    for key in ("characters", "shots"):
        if not all(isinstance(item, dict) for item in body[key]):
            raise ApplicationError(f"project.json: every item of {key!r} must be an object.", field="bundle")
    for shot in body["shots"]:
        names = shot.get("characters") or []
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ApplicationError("project.json: a shot's 'characters' must be a list of names.", field="bundle")
        if not isinstance(shot.get("speaker") or "", str):
            raise ApplicationError("project.json: a shot's 'speaker' must be a character's name.", field="bundle")
    return body


def bundle_import(*, owner: User, upload: IO[bytes]) -> Project:
    """A new project from a bundle. Every member is checked (names, sizes, types) before
    anything is kept; a bad bundle changes nothing, leaves no file behind, and says what is wrong."""
    if not zipfile.is_zipfile(upload):
        raise ApplicationError("Not a zip file: upload a bundle downloaded from StoryVideo.", field="bundle")
    upload.seek(0)
    try:
        return _import(owner, upload)
    except zipfile.BadZipFile as damage:  # a member's CRC, a truncated member: found while reading it
        raise ApplicationError(f"The bundle is damaged ({damage}): download it again.", field="bundle") from None


def _sizes_check(members: list[zipfile.ZipInfo]) -> None:
    """Refuse by the sizes the archive declares, before a byte is unpacked (reading a member
    stops at its declared size): too many members, too much in all, or a member packed far
    tighter than a film's files pack (a 1.45 MB bundle once unpacked 900 MB before its 400)."""
    if len(members) > settings.BUNDLE_MAX_MEMBERS or sum(m.file_size for m in members) > (
        settings.BUNDLE_MAX_UNPACKED_BYTES
    ):
        raise ApplicationError("The bundle is too large to import.", field="bundle")
    for member in members:
        if member.file_size > 1024**2 and member.file_size > settings.BUNDLE_MAX_RATIO * max(1, member.compress_size):
            raise ApplicationError(
                f"{member.filename[:100]} unpacks to {member.file_size // member.compress_size or 1} times its "
                "packed size; a StoryVideo bundle's files do not: it is not one.",
                field="bundle",
            )


def _import(owner: User, upload: IO[bytes]) -> Project:
    with atomic_with_files(), zipfile.ZipFile(upload) as archive, tempfile.TemporaryDirectory() as tmp:
        _sizes_check(archive.infolist())
        try:
            body = _manifest(json.loads(archive.read("project.json")))
        except (KeyError, ValueError, RecursionError):
            raise ApplicationError("The bundle has no readable project.json.", field="bundle") from None
        project_data = ProjectCreateSerializer(data=body["project"])
        project_data.is_valid(raise_exception=True)
        folder = Path(tmp)
        new_projects_take(owner_id=owner.pk)
        project = Project.objects.create(owner=owner, status=Project.Status.READY, **project_data.validated_data)
        if not project.title:
            project.title = project.story[:40]
        characters = {}
        for item in body["characters"]:
            character = CharacterCreateSerializer(
                data={k: v for k, v in item.items() if k not in ("voice", "reference")}
            )
            character.is_valid(raise_exception=True)
            c = character.validated_data
            made = Character(
                project=project,
                seed=c.get("seed", 0),
                name=c["name"],
                **{key: c.get(key, "") for key in CHARACTER_TEXT},
                voice=_voice_here(item.get("voice"), project.language),
            )
            # Its reference picture; its likeness is measured again here (the scores name shots).
            reference = _read_member(archive, item.get("reference"), folder, limit=_MAX_IMAGE_BYTES)
            if reference is not None:
                made.reference_image.name = store(
                    _image(reference, {"PNG", "JPEG", "WEBP"}), folder="characters/reference"
                )[0]
            made.save()
            characters[c["name"]] = made
        for order, item in enumerate(body["shots"][: settings.SHOTS_MAX]):
            shot_data = ShotBundleSerializer(data={k: item[k] for k in SHOT_FIELDS if item.get(k) is not None})
            shot_data.is_valid(raise_exception=True)
            shot = Shot(
                project=project,
                order=order,
                image_source=str(item.get("imageSource", ""))[:200],
                speech_source=str(item.get("speechSource", ""))[:200],
                **{"seed": new_seed(), **shot_data.validated_data},
            )
            image = _read_member(archive, item.get("image"), folder, limit=_MAX_IMAGE_BYTES)
            if image is not None:
                image = _image(image, {"PNG", "JPEG", "WEBP"})
                shot.image_file.name, shot.image_hash = store(image, folder="shots/image")
            speech = _read_member(archive, item.get("speech"), folder, limit=_MAX_AUDIO_BYTES)
            if speech is not None:
                speech, duration = _speech(speech)
                shot.speech_duration = round(duration, 3)
                shot.speech_file.name, shot.speech_hash = store(speech, folder="shots/speech")
            shot.speaker = characters.get(item.get("speaker") or "")
            shot.save()
            shot.characters.set([characters[n] for n in item.get("characters") or [] if n in characters])
            if item.get("seed") is None and seed_follow_characters(shot):
                shot.save(update_fields=["seed"])
            for stage in (IMAGE, SPEECH):
                version_record(shot, stage)
        render = body["render"]
        video = _read_member(archive, render.get("video"), folder, limit=settings.BUNDLE_MAX_UNPACKED_BYTES)
        if video is not None:
            video, duration = _film(video)
            project.render_video.name, project.render_hash = store(video, folder="renders")
            project.render_duration = round(duration, 3)
            srt = _read_member(archive, render.get("srt"), folder, limit=_MAX_TEXT_BYTES)
            vtt = _read_member(archive, render.get("vtt"), folder, limit=_MAX_TEXT_BYTES)
            timeline = _read_member(archive, render.get("timeline"), folder, limit=_MAX_TEXT_BYTES)
            poster = _read_member(archive, render.get("poster"), folder, limit=_MAX_IMAGE_BYTES)
            for field, checked in (
                ("render_srt", srt and _text(srt, "srt")),
                ("render_vtt", vtt and _text(vtt, "vtt")),
                ("render_timeline", timeline and _text(timeline, "otio")),
                ("render_poster", poster and _image(poster, {"JPEG", "PNG"})),
            ):
                if checked:
                    getattr(project, field).name = store(checked, folder="renders")[0]
            project.status = Project.Status.RENDERED
            project.rendered_at = timezone.now()
        project.save()
    return project


def _voice_here(voice: object, language: str) -> str:
    """A character's voice from another machine, if this one has it for the project's language;
    else blank (the narrator's): its lines as recorded are imported either way."""
    if not isinstance(voice, str) or voice not in voice_choices() or voice_language(voice) not in (None, language):
        return ""
    return voice
