from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from accounts.audit import audit
from core.errors import ApplicationError
from core.storage import atomic_with_files, release_on_commit, store
from inference.errors import EngineError
from inference.image import cover
from inference.media import AUDIO_FORMATS, Probe, audio_suffix, probe, run_ffmpeg
from inference.speech import wav_info
from inference.styles import frame_size
from inference.text import detect_language, split_title
from projects.models import Character, Project, RenderSegment
from projects.pipeline import (
    pipeline_start,
    project_look_changed,
    project_recompose_if_rendered,
    project_status_derive,
    shots_regenerate,
)
from projects.selectors import project_lock
from projects.throttles import new_projects_take
from projects.validators import voice_for_language
from shots.history import shot_file_names
from shots.models import Shot, ShotVersion
from shots.services import new_seed, seed_follow_characters, shot_result_put, speaking_voice
from shots.stages import IMAGE, MOTION, OWN, SPEECH, Stage
from tasks.live import access_changed_on_commit
from tasks.models import Task
from tasks.services import tasks_cancel


@transaction.atomic
def project_create(
    *,
    owner: User,
    story: str,
    title: str = "",
    language: str = "",
    style: str = "storybook",
    aspect_ratio: str = "16:9",
    resolution: str = "720p",
    shot_count: int = 8,
    voice: str = "",
    auto_render: bool = True,
    burn_subtitles: bool = True,
    subtitle_speakers: bool = False,
    bilingual_subtitles: bool = False,
    animate: bool = False,
    tier: str = "",
    music_volume_db: float = 0.0,
    description: str = "",
    shot_tasks: bool = False,
) -> tuple[Project, list[Task]]:
    """Create a project from a story and start its storyboard task (enqueued after commit), and
    with ``shot_tasks`` its shots' picture tasks, blocked on it (``pipeline_start``).

    A first line followed by a blank line is taken as the title when none is given.
    """
    new_projects_take(owner_id=owner.pk)
    story_title, body = split_title(story)
    body = body or story.strip()
    project = Project.objects.create(
        owner=owner,
        title=(title or story_title or body[:40]).strip()[:200],
        story=body,
        language=language or detect_language(body),
        style=style,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        shot_count=shot_count,
        voice=voice,
        auto_render=auto_render,
        burn_subtitles=burn_subtitles,
        subtitle_speakers=subtitle_speakers,
        bilingual_subtitles=bilingual_subtitles,
        animate=animate,
        tier=tier or settings.IMAGE_TIER,
        music_volume_db=music_volume_db,
        description=description,
    )
    tasks = pipeline_start(project=project, shot_tasks=shot_tasks)
    return project, tasks


@transaction.atomic
def project_update(*, project: Project, changes: dict[str, Any]) -> Project:
    """Change a project's settings. Changing the look (style, aspect ratio, resolution, the
    pictures' tier) regenerates every keyframe; the voice, every narration; turning animation on animates every
    shot, turning it off recomposes with the camera moves. The story itself is re-cut only on an
    explicit request.

    Locks the project row (then, through the pipeline, its shots: the storyboard's lock order)."""
    project = project_lock(project_id=project.pk)
    changed = {key for key, value in changes.items() if getattr(project, key) != value}
    for key, value in changes.items():
        setattr(project, key, value)
    project.save()
    shots = list(project.shots.select_related("speaker").order_by("order"))
    if changed & {"style", "aspect_ratio", "resolution", "tier"}:
        project_look_changed(project=project)
    elif "animate" in changed and project.animate:
        shots_regenerate(shots=shots, stages={MOTION})
    if "voice" in changed:  # the narrator's: the lines of characters with a voice of their own stay
        shots_regenerate(shots=[s for s in shots if not (s.speaker and s.speaker.voice)], stages={SPEECH})
    composition = {"burn_subtitles", "music_volume_db", "subtitle_speakers", "bilingual_subtitles"}
    if ("animate" in changed and not project.animate) or changed & composition:
        project_recompose_if_rendered(project=project)  # composition only
    return project


@transaction.atomic
def project_delete(*, project: Project) -> None:
    """Cancel the project's unfinished work, then delete it with its shots, characters and tasks;
    its files (the film, its segments, the shots' media and their history) go once committed,
    where nothing else names them."""
    tasks_cancel(tasks=project.tasks.filter(status__in=Task.UNFINISHED), reason="The project was deleted.")

    names = [f.name for f in _project_files(project) if f] + shot_file_names(project.shots.all())
    names += project.characters.exclude(reference_image="").values_list("reference_image", flat=True)
    names += project.render_segments.values_list("file", flat=True)
    project_id = project.pk
    audit("project_deleted", target=f"project {project_id}", title=project.title[:100])
    project.delete()
    release_on_commit(names)
    access_changed_on_commit(project_id=project_id)


@transaction.atomic
def project_duplicate(*, project: Project) -> Project:
    """A copy of the project for its owner: the story, settings, characters, shots and their
    media, and the film; no tasks, no webhook. Files are shared, not copied (they are named by
    their content, and released only when no row refers to them)."""
    new_projects_take(owner_id=project.owner_id)
    copy = Project.objects.get(pk=project.pk)
    copy.pk, copy._state.adding = uuid.uuid4(), True
    copy.title = f"{project.title[:190]} (copy)"
    copy.webhook_url = copy.webhook_secret = ""
    copy.save()
    characters: dict[uuid.UUID, Character] = {}
    for character in project.characters.all():
        old = character.pk
        character.pk, character._state.adding, character.project = uuid.uuid4(), True, copy
        character.likeness = {}  # it named the original's shots; the reference picture is shared
        character.save()
        characters[old] = character
    for shot in project.shots.prefetch_related("characters", "versions").order_by("order"):
        cast = [characters[c.pk] for c in shot.characters.all()]
        versions = list(shot.versions.all())
        shot.pk, shot._state.adding, shot.project = uuid.uuid4(), True, copy
        shot.speaker = characters.get(shot.speaker_id) if shot.speaker_id else None
        shot.save()
        shot.characters.set(cast)
        for version in versions:  # the copy can look back and restore too
            version.pk, version._state.adding, version.shot = uuid.uuid4(), True, shot
        ShotVersion.objects.bulk_create(versions)
    segments = project.render_segments.values_list("file", flat=True)  # the film is copied: its segments too
    RenderSegment.objects.bulk_create([RenderSegment(project=copy, file=name) for name in segments])
    project_status_derive(project=copy)
    copy.refresh_from_db()
    return copy


@transaction.atomic
def projects_create_batch(*, owner: User, items: list[dict[str, Any]]) -> list[tuple[Project, list[Task]]]:
    """Several projects at once, all or none (their storyboard tasks are enqueued after commit)."""
    return [project_create(owner=owner, **item) for item in items]


def _project_files(project: Project) -> list[Any]:
    files = [  # the shots' own: shot_file_names
        project.render_video,
        project.render_srt,
        project.render_vtt,
        project.render_poster,
        project.render_timeline,
        project.music,
    ]
    return files


@transaction.atomic
def character_create(
    *, project: Project, name: str, seed: int | None = None, voice: str = "", **looks: str
) -> Character:
    """A character of the project: its name, its looks and personality (``Character`` fields),
    its seed (a new one unless given) and its voice (one of the project's language's)."""
    if project.characters.filter(name=name).exists():
        raise ApplicationError(f"The project already has a character named {name!r}.", field="name")
    voice_for_language(voice, project.language)
    return Character.objects.create(
        project=project, name=name, seed=new_seed() if seed is None else seed, voice=voice, **looks
    )


def upload_name(upload: Any) -> str:
    """The name of an uploaded file as the person sees it: a browser writes the quote and line
    breaks of a file name percent-encoded in the form (the HTML standard's three escapes)."""
    name = Path(upload.name or "upload").name
    for encoded, char in (("%22", '"'), ("%0A", " "), ("%0D", " ")):
        name = name.replace(encoded, char)
    return name.strip() or "upload"


@transaction.atomic
def character_update(*, character: Character, changes: dict[str, Any]) -> Character:
    """Rename or re-describe a character; a change to its look or seed regenerates the
    keyframes of every shot it appears in, a new voice the lines it speaks, a new name the
    subtitles that name it. Locks: the project, the character, then the shots."""
    project = project_lock(project_id=character.project_id)
    character = Character.objects.select_for_update().get(pk=character.pk)
    voice_for_language(changes.get("voice", ""), project.language)
    before = (character.name, speaking_voice(project, character))
    name = changes.get("name")
    if name and name != character.name and character.project.characters.filter(name=name).exists():
        raise ApplicationError(f"The project already has a character named {name!r}.", field="name")
    look_changed = any(
        key in (*Character.LOOKS, "seed") and getattr(character, key) != value for key, value in changes.items()
    )
    for key, value in changes.items():
        setattr(character, key, value)
    character.save()
    if look_changed:
        shots = list(character.shots.select_for_update())
        for shot in shots:
            if seed_follow_characters(shot):
                shot.save(update_fields=["seed"])
        shots_regenerate(shots=shots, stages={IMAGE})
    if before[1] != speaking_voice(project, character):
        shots_regenerate(shots=list(character.spoken_shots.all()), stages={SPEECH})
    elif before[0] != character.name and project.subtitle_speakers and character.spoken_shots.exists():
        project_recompose_if_rendered(project=project)
    return character


@transaction.atomic
def character_delete(*, character: Character) -> None:
    """Delete a character: the shots it was in are drawn again without it, and the lines it
    spoke in its own voice are spoken again by the narrator."""
    project = project_lock(project_id=character.project_id)
    shots = list(character.shots.all())
    spoken = list(character.spoken_shots.all()) if speaking_voice(project, character) != project.voice else []
    reference = character.reference_image.name
    character.delete()
    release_on_commit([reference])
    shots_regenerate(shots=shots, stages={IMAGE})
    shots_regenerate(shots=spoken, stages={SPEECH})


@transaction.atomic
def project_set_music(*, project: Project, upload: Any) -> Project:
    """Set or clear the background music. The file must be audio ffmpeg can read; its stored
    name is its content hash, never the uploaded name."""
    old = project.music.name if project.music else ""
    if upload is None:
        project.music = ""
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = _saved_upload(upload, Path(tmp), limit=settings.MUSIC_MAX_BYTES, what="The music file")
            found = _readable_audio(path, "Not an audio file ffmpeg can read (try MP3, WAV, M4A, OGG or FLAC).")
            # The stored name's extension follows what the file is, never what it was called.
            stored = path.rename(path.with_suffix(audio_suffix(found.format_name)))
            project.music.name = store(stored, folder="music")[0]
    project.save()
    if (project.music.name if project.music else "") != old:
        project_recompose_if_rendered(project=project)
    return project


def _saved_upload(upload: Any, folder: Path, *, limit: int, what: str) -> Path:
    """An uploaded file written into ``folder``; over ``limit`` bytes it is refused (400)."""
    if upload.size > limit:
        raise ApplicationError(f"{what} is over {limit // 2**20} MiB.", field="file")
    path = folder / "upload"
    with open(path, "wb") as sink:
        for block in upload.chunks():
            sink.write(block)
    return path


def _readable_audio(path: Path, refusal: str) -> Probe:
    """What ffmpeg finds in an uploaded audio file (containers of AUDIO_FORMATS only, never a
    playlist); ``refusal`` (400) when it finds no sound in it."""
    try:
        found = probe(path, formats=AUDIO_FORMATS)
    except EngineError:
        found = None
    if found is None or not found.audio_streams or found.duration <= 0:
        raise ApplicationError(refusal, field="file")
    return found


OWN_MEDIA_STAGES = (IMAGE, SPEECH)  # a person may put their own picture or recording on a shot
OWN_PICTURE_FORMATS = {"PNG", "JPEG", "WEBP"}


def shot_set_own_media(*, shot: Shot, stage: Stage, upload: Any) -> Shot:
    """Put the person's own picture (PNG, JPEG or WebP, fitted to the project's frame) or
    narration recording (any audio ffmpeg reads, levelled to the narration's loudness) on a shot
    in place of the generated one. Checked by decoding, never by name; a bad file changes
    nothing. Work in flight for that stage is superseded, a clip made from the old picture goes,
    and the film is recomposed; the shot records that the file is the person's own."""
    if stage not in OWN_MEDIA_STAGES:
        raise ApplicationError('Say which file this is: "image" or "speech".', field="stage")
    with tempfile.TemporaryDirectory() as tmp:
        path = _saved_upload(upload, Path(tmp), limit=settings.OWN_MEDIA_MAX_BYTES, what="The file")
        if stage is IMAGE:
            made, extra = _own_picture(path, shot.project), {}
        else:
            made, duration = _own_narration(path)
            sentences = [[0.0, duration, shot.narration.strip()]] if shot.narration.strip() else []
            extra = {"speech_duration": round(duration, 3), "speech_sentences": sentences}
        with atomic_with_files():
            name, digest = store(made, folder=stage.folder)
            return shot_result_put(
                shot=shot,
                stage=stage,
                name=name,
                digest=digest,
                source=f"{OWN}{upload_name(upload)[:150]}",
                extra=extra,
                why=f"Replaced by the person's own file on shot {shot.order + 1}.",
            )


def _own_picture(path: Path, project: Project) -> Path:
    """The picture fitted to the frame. Its size is read from the header and refused past
    OWN_PICTURE_MAX_PIXELS before a pixel is decoded."""
    from PIL import Image

    width, height = frame_size(project.aspect_ratio, project.resolution)
    unreadable = ApplicationError("Not a picture that can be read: send a PNG, JPEG or WebP.", field="file")
    try:
        image = Image.open(path)
    except Exception:  # not an image at all
        raise unreadable from None
    with image:
        if image.format not in OWN_PICTURE_FORMATS:
            raise unreadable
        if image.format == "JPEG":  # decoded at 1/2, 1/4 or 1/8 where the frame still fits
            image.draft("RGB", (width, height))
        limit = settings.OWN_PICTURE_MAX_PIXELS
        if image.width * image.height > limit:
            raise ApplicationError(
                f"The picture is {image.width}x{image.height} ({image.width * image.height / 1e6:.1f} megapixels); "
                f"the most is {limit / 1e6:.1f}: send a smaller one (the film's frame is {width}x{height}).",
                field="file",
            )
        try:
            image.load()
            picture = cover(image.convert("RGB"), width, height)
        except Exception:  # a broken one, a decompression bomb
            raise unreadable from None
    made = path.with_name("own.png")
    picture.save(made, format="PNG")
    return made


def _own_narration(path: Path) -> tuple[Path, float]:
    found = _readable_audio(path, "Not a recording ffmpeg can read (try WAV, MP3 or M4A).")
    if found.duration > settings.OWN_NARRATION_MAX_S:
        raise ApplicationError(
            f"The recording is {found.duration:.0f} s; a shot's narration may be {settings.OWN_NARRATION_MAX_S:.0f} s.",
            field="file",
        )
    made = path.with_name("own.wav")
    try:  # decoded to the narration's own format (24 kHz mono WAV), levelled to -16 LUFS
        run_ffmpeg(
            [
                "-i",
                str(path),
                "-vn",
                "-af",
                "loudnorm=I=-16:TP=-1.5:LRA=11",
                "-ac",
                "1",
                "-ar",
                "24000",
                "-c:a",
                "pcm_s16le",
                "-f",
                "wav",
                str(made),
            ]
        )
        duration, _ = wav_info(made)
    except EngineError as exc:
        raise ApplicationError(f"The recording could not be decoded: {exc}", field="file") from None
    return made, duration
