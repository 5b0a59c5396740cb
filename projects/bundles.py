"""The bundle: everything about a project in one zip (project JSON, keyframes, narration,
segments, music, film, subtitles, timeline), and importing one back as a new project."""

from __future__ import annotations

import json
import re
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image
from rest_framework import serializers

from inference.errors import EngineError
from inference.media import probe
from inference.speech import wav_info
from projects.models import Character, Project
from projects.serializers import CharacterCreateSerializer, ProjectCreateSerializer
from shots.models import Shot
from shots.serializers import ShotWriteSerializer
from shots.services import new_seed
from storyvideo.errors import ApplicationError
from storyvideo.storage import atomic_with_files, local_path, store

FORMAT = "storyvideo-bundle"
_MEMBER = re.compile(r"^(?:(?:keyframes|audio|segments|music)/[A-Za-z0-9_.-]{1,100}|[A-Za-z0-9_.-]{1,100})$")


class ShotBundleSerializer(ShotWriteSerializer):
    """A shot as the bundle carries it: the fields a client may set, its characters by name beside."""

    prompt = serializers.CharField(max_length=2000, trim_whitespace=True)
    characterIds = None  # type: ignore[assignment]  # DRF: None removes an inherited field


SHOT_FIELDS = tuple(ShotBundleSerializer().fields)


def bundle_write(*, project: Project, path: Path) -> Path:
    """Write the project's bundle to ``path`` (a zip; media already compressed is stored)."""
    shots = list(project.shots.order_by("order").prefetch_related("characters"))
    manifest = project.render_manifest or {}
    segments = {item["shotId"]: item["file"] for item in manifest.get("segments", [])}
    files: dict[str, Any] = {}
    shot_entries = []
    for index, shot in enumerate(shots, 1):
        entry: dict[str, Any] = {
            **ShotBundleSerializer(shot).data,
            "characters": [c.name for c in shot.characters.all()],
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
    body = {
        "format": FORMAT,
        "version": 1,
        "project": ProjectCreateSerializer(project).data,
        "characters": [
            {"name": c.name, "description": c.description, "seed": c.seed} for c in project.characters.all()
        ],
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


def _read_member(archive: zipfile.ZipFile, name: str | None, folder: Path) -> Path | None:
    if not name:
        return None
    if not isinstance(name, str) or not _MEMBER.match(name) or name not in archive.namelist():
        raise ApplicationError(f"The bundle names a file it does not hold: {str(name)[:100]!r}.", field="bundle")
    target = folder / name.replace("/", "__")
    with archive.open(name) as source, open(target, "wb") as sink:
        while block := source.read(1 << 20):
            sink.write(block)
    return target


def _check_image(path: Path) -> None:
    try:
        with Image.open(path) as image:
            image.verify()
    except Exception:
        raise ApplicationError(f"{path.name.replace('__', '/')} is not a readable image.", field="bundle") from None


def _check_audio(path: Path) -> float:
    try:
        return wav_info(path)[0]
    except EngineError as exc:
        raise ApplicationError(str(exc), field="bundle") from None


def bundle_import(*, owner: User, upload: IO[bytes]) -> Project:
    """A new project from a bundle. Every member is checked (names, sizes, types) before
    anything is kept; a bad bundle changes nothing, leaves no file behind, and says what is wrong."""
    if not zipfile.is_zipfile(upload):
        raise ApplicationError("Not a zip file: upload a bundle downloaded from StoryVideo.", field="bundle")
    upload.seek(0)
    with atomic_with_files(), zipfile.ZipFile(upload) as archive, tempfile.TemporaryDirectory() as tmp:
        members = archive.infolist()
        if (
            len(members) > settings.BUNDLE_MAX_MEMBERS
            or sum(m.file_size for m in members) > settings.BUNDLE_MAX_UNPACKED_BYTES
        ):
            raise ApplicationError("The bundle is too large to import.", field="bundle")
        try:
            body = json.loads(archive.read("project.json"))
        except (KeyError, ValueError):
            raise ApplicationError("The bundle has no readable project.json.", field="bundle") from None
        if not isinstance(body, dict) or body.get("format") != FORMAT or body.get("version") != 1:
            raise ApplicationError("project.json is not a StoryVideo bundle of version 1.", field="bundle")
        project_data = ProjectCreateSerializer(data=body.get("project") or {})
        project_data.is_valid(raise_exception=True)
        folder = Path(tmp)
        project = Project.objects.create(owner=owner, status=Project.Status.READY, **project_data.validated_data)
        if not project.title:
            project.title = project.story[:40]
        characters = {}
        for item in body.get("characters") or []:
            character = CharacterCreateSerializer(data=item)
            character.is_valid(raise_exception=True)
            c = character.validated_data
            characters[c["name"]] = Character.objects.create(
                project=project, seed=c.get("seed", 0), name=c["name"], description=c.get("description", "")
            )
        for order, item in enumerate((body.get("shots") or [])[: settings.SHOTS_MAX]):
            shot_data = ShotBundleSerializer(data={k: item[k] for k in SHOT_FIELDS if item.get(k) is not None})
            shot_data.is_valid(raise_exception=True)
            shot = Shot(
                project=project,
                order=order,
                image_source=str(item.get("imageSource", ""))[:200],
                speech_source=str(item.get("speechSource", ""))[:200],
                **{"seed": new_seed(), **shot_data.validated_data},
            )
            image = _read_member(archive, item.get("image"), folder)
            if image is not None:
                _check_image(image)
                shot.image_file.name, shot.image_hash = store(image, folder="shots/image")
            speech = _read_member(archive, item.get("speech"), folder)
            if speech is not None:
                shot.speech_duration = round(_check_audio(speech), 3)
                shot.speech_file.name, shot.speech_hash = store(speech, folder="shots/speech")
            shot.save()
            shot.characters.set([characters[n] for n in item.get("characters") or [] if n in characters])
        render = body.get("render") or {}
        video = _read_member(archive, render.get("video"), folder)
        if video is not None:
            try:
                found = probe(video)
            except EngineError as exc:
                raise ApplicationError(str(exc), field="bundle") from None
            if not found.video_streams:
                raise ApplicationError("The bundle's film has no picture.", field="bundle")
            project.render_video.name, project.render_hash = store(video, folder="renders")
            project.render_duration = round(found.duration, 3)
            for key, field in (
                ("srt", "render_srt"),
                ("vtt", "render_vtt"),
                ("poster", "render_poster"),
                ("timeline", "render_timeline"),
            ):
                path = _read_member(archive, render.get(key), folder)
                if path is not None:
                    getattr(project, field).name = store(path, folder="renders")[0]
            project.status = Project.Status.RENDERED
            project.rendered_at = timezone.now()
        project.save()
    return project
