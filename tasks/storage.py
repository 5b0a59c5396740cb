"""Moving engine output into media storage (local disk or S3) and inputs back out of it."""

from __future__ import annotations

import shutil
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
