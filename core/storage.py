"""Media storage (local disk or S3): engine output moved in under content-hash names, inputs
read back out, and files released once no row names them."""

from __future__ import annotations

import operator
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import reduce
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Q
from django.db.models.fields.files import FieldFile

from inference.media import file_digest

PICTURES = (".png", ".jpg", ".jpeg", ".webp")
THUMBNAIL_WIDTH = 320  # px: a card's or a list's picture (the editor offers the whole one beside it)


def store(path: Path, *, folder: str) -> tuple[str, str]:
    """Save a file under a name made of its content hash; return (storage name, hash).
    Never a name from a client or a model. A picture gets its thumbnail stored beside it."""
    digest = file_digest(path)
    name = store_named(path, f"{folder}/{digest[:32]}{path.suffix.lower()}")
    thumbnail = thumbnail_name(name)
    if thumbnail and not default_storage.exists(thumbnail):
        made = path.with_name(f".{path.name}.thumbnail.webp")
        try:
            thumbnail_make(path, made)
            store_named(made, thumbnail)
        finally:
            made.unlink(missing_ok=True)
    return name, digest


def thumbnail_name(name: str) -> str:
    """The stored name of a picture's thumbnail, ``thumbs/<its name>.webp``; "" for a file that
    is not a picture. Derived from the picture's own (content-hash) name: no row names it, and it
    goes when its picture goes."""
    if Path(name).suffix.lower() not in PICTURES or name.startswith("thumbs/"):
        return ""
    return f"thumbs/{name}.webp"


def thumbnail_make(source: Path, target: Path) -> None:
    """A WebP at most THUMBNAIL_WIDTH wide (never enlarged), written whole or not at all."""
    from PIL import Image

    with Image.open(source) as opened:
        opened.draft("RGB", (THUMBNAIL_WIDTH * 2, THUMBNAIL_WIDTH * 2))  # a JPEG decodes at a smaller scale
        picture = opened.convert("RGBA" if "A" in opened.getbands() else "RGB")
    if picture.width > THUMBNAIL_WIDTH:
        height = max(1, round(picture.height * THUMBNAIL_WIDTH / picture.width))
        picture = picture.resize((THUMBNAIL_WIDTH, height), Image.Resampling.LANCZOS)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.partial")  # two may make it
    picture.save(partial, "WEBP", quality=80, method=4)
    os.replace(partial, target)


def store_named(path: Path, name: str) -> str:
    """Save a file under ``name`` (made of its content or of everything that shaped it, never
    of a client's or a model's words), unless a whole copy is there already; return the name."""
    if default_storage.exists(name):
        if default_storage.size(name) == path.stat().st_size:
            return name
        default_storage.delete(name)  # damaged copy (a truncated upload, a full disk): write it again
    with open(path, "rb") as handle:
        saved = default_storage.save(name, File(handle))
    created = _created.get()
    if created is not None:
        created.append(saved)
    return saved


# The files store() wrote inside the innermost atomic_with_files() block.
_created: ContextVar[list[str] | None] = ContextVar("storyvideo_stored_files", default=None)


@contextmanager
def atomic_with_files() -> Iterator[None]:
    """A transaction (a savepoint inside another) whose new files share its fate: a file that
    ``store()`` wrote inside it is deleted again when it rolls back, so a rejected bundle or a
    superseded render leaves no file behind. A file that was already stored (same content) is
    not new and stays. Files are written before the rows that name them are committed, so a
    committed row never names a missing file."""
    created: list[str] = []
    token = _created.set(created)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        _release_unused(created)
        raise
    finally:
        _created.reset(token)


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
    """A task's scratch folder on this machine; removed when its attempt ends, whatever the end."""
    path = settings.VAR_DIR / "work" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def work_dir_remove(name: str) -> None:
    shutil.rmtree(settings.VAR_DIR / "work" / name, ignore_errors=True)


def work_dirs_stale(*, older_than_s: float) -> list[str]:
    """Names of scratch folders untouched for a while (a worker killed mid-job leaves its own)."""
    root = settings.VAR_DIR / "work"
    cutoff = time.time() - older_than_s
    return [p.name for p in root.iterdir() if p.is_dir() and p.stat().st_mtime < cutoff] if root.is_dir() else []


def release_on_commit(names: Iterable[str]) -> None:
    """After commit, delete the stored files that no row refers to any more. Files are named by
    their content hash, so two shots or projects (an imported copy, a repeated render) can
    share one: a file is removed only by the last row that lets go of it."""
    pending = {name for name in names if name}
    if pending:
        transaction.on_commit(lambda: _release_unused(pending))


def thumbnails_make_missing() -> int:
    """Make the thumbnail of every stored picture a row names that has none (pictures stored
    before thumbnails were made, on local disk or in a bucket); return how many were made."""
    names: set[str] = set()
    for model in apps.get_models():
        for field in [f.name for f in model._meta.get_fields() if isinstance(f, models.FileField)]:
            names.update(model._default_manager.exclude(**{field: ""}).values_list(field, flat=True))
    made = 0
    with tempfile.TemporaryDirectory() as folder:
        for name in sorted(names):
            thumbnail = thumbnail_name(name)
            if not thumbnail or default_storage.exists(thumbnail) or not default_storage.exists(name):
                continue
            picture, small = Path(folder) / f"picture{Path(name).suffix}", Path(folder) / "thumbnail.webp"
            with default_storage.open(name, "rb") as source, open(picture, "wb") as sink:
                shutil.copyfileobj(source, sink)
            thumbnail_make(picture, small)
            store_named(small, thumbnail)
            made += 1
    return made


def _release_unused(names: Iterable[str]) -> None:
    for name in names:
        if not file_in_use(name):
            default_storage.delete(name)
            if thumbnail := thumbnail_name(name):
                default_storage.delete(thumbnail)


def file_in_use(name: str) -> bool:
    """Whether any row of any installed model names this stored file in one of its file fields."""
    for model in apps.get_models():
        fields = [f.name for f in model._meta.get_fields() if isinstance(f, models.FileField)]
        if fields and model._default_manager.filter(reduce(operator.or_, (Q(**{f: name}) for f in fields))).exists():
            return True
    return False


class MediaFieldFile(FieldFile):
    """A stored file whose URL is signed in its project's scope where its row says which project
    it belongs to (``media_scope()``: ``<project id>.<generation>``, ``core.media``), so that a
    revocation ends the links handed out before it."""

    @property
    def url(self) -> str:
        self._require_file()  # type: ignore[attr-defined]  # FieldFile's own check (not in its stubs)
        return self._signed(str(self.name))

    @property
    def thumbnail_url(self) -> str | None:
        """A picture's thumbnail (``thumbnail_name``), signed as the picture is; None for a file
        that is not a picture."""
        self._require_file()  # type: ignore[attr-defined]
        thumbnail = thumbnail_name(str(self.name))
        return self._signed(thumbnail) if thumbnail else None

    def _signed(self, name: str) -> str:
        scope = getattr(self.instance, "media_scope", None)
        scoped_url = getattr(self.storage, "scoped_url", None)
        if scope is not None and scoped_url is not None:
            return str(scoped_url(name, scope()))
        return str(self.storage.url(name))


class MediaFileField(models.FileField):
    attr_class = MediaFieldFile
