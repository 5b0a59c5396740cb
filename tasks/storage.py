"""Moving engine output into media storage (local disk or S3) and inputs back out of it."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from inference.media import file_digest


def store(path: Path, *, folder: str) -> tuple[str, str]:
    """Save a file under a name made of its content hash; return (storage name, hash).
    Never a name from a client or a model."""
    digest = file_digest(path)
    name = f"{folder}/{digest[:32]}{path.suffix.lower()}"
    if default_storage.exists(name):
        if default_storage.size(name) == path.stat().st_size:
            return name, digest
        default_storage.delete(name)  # damaged copy (a truncated upload, a full disk): write it again
    with open(path, "rb") as handle:
        saved = default_storage.save(name, File(handle))
    return saved, digest


def local_path(field_file: Any) -> Path:
    """A local path to read a stored file from: the file itself on local disk, else a cached
    download (object storage)."""
    try:
        return Path(field_file.path)
    except NotImplementedError:
        target = settings.VAR_DIR / "cache" / "media" / field_file.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with field_file.open("rb") as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)
        return target


def work_dir(name: str) -> Path:
    path = settings.VAR_DIR / "work" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def release_on_commit(names: Iterable[str]) -> None:
    """After commit, delete the stored files that no row refers to any more. Files are named by
    their content hash, so two shots or projects (an imported copy, a repeated render) can
    share one: a file is removed only by the last row that lets go of it."""
    from django.db import transaction
    from django.db.models import Q

    from projects.models import Project
    from shots.models import Shot

    pending = {name for name in names if name}

    def release() -> None:
        for name in pending:
            used_by_shot = Shot.objects.filter(Q(image_file=name) | Q(motion_file=name) | Q(speech_file=name))
            used_by_project = Project.objects.filter(
                Q(render_video=name) | Q(render_srt=name) | Q(render_vtt=name) | Q(render_poster=name)
                | Q(render_timeline=name) | Q(music=name)
            )  # fmt: skip
            if not used_by_shot.exists() and not used_by_project.exists():
                default_storage.delete(name)

    if pending:
        transaction.on_commit(release)
