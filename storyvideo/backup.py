"""A backup of the whole installation in one tar file, and the way back.

The archive holds ``manifest.json`` (when, which migrations, how many rows and files),
``db.json`` (every row, as ``dumpdata`` writes it with natural keys, so it loads into SQLite or
PostgreSQL alike; content types, permissions and sessions are left to ``migrate``) and ``media/``
(every stored file, read through the storage: local disk or a bucket). ``backup_restore`` loads
it into a database migrated to the same point: refused where projects exist unless ``replace``,
which empties the database first; files already stored under the same name are kept (names are
content hashes)."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from core.errors import ApplicationError

FORMAT = "storyvideo-backup"
EXCLUDED = ["contenttypes", "auth.permission", "sessions", "admin.logentry", "django_rq"]  # django_rq: no table


def _stored_names(folder: str = "") -> Iterator[str]:
    folders, files = default_storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}" if folder else name
    for sub in folders:
        yield from _stored_names(f"{folder}/{sub}" if folder else sub)


def _migrations() -> list[list[str]]:
    return sorted([app, name] for app, name in MigrationRecorder.Migration.objects.values_list("app", "name"))


def backup_write(path: Path) -> dict[str, Any]:
    """Write the archive to ``path`` (via a temporary file beside it, then renamed) and return
    its manifest."""
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "db.json"
        with transaction.atomic():  # one consistent view of the database (PostgreSQL: one snapshot)
            call_command(
                "dumpdata", natural_foreign=True, natural_primary=True, exclude=EXCLUDED, output=str(rows), verbosity=0
            )
            migrations = _migrations()
        count = len(json.loads(rows.read_text()))
        partial = path.with_name(f".{path.name}.partial")
        files = 0
        with tarfile.open(partial, "w") as archive:
            archive.add(rows, "db.json")
            for name in _stored_names():
                with default_storage.open(name, "rb") as handle:
                    info = tarfile.TarInfo(f"media/{name}")
                    info.size = default_storage.size(name)
                    archive.addfile(info, handle)
                files += 1
            manifest = {
                "format": FORMAT,
                "version": 1,
                "madeAt": timezone.now().isoformat(),
                "database": connection.vendor,
                "migrations": migrations,
                "rows": count,
                "files": files,
            }
            body = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
        partial.replace(path)
    return manifest


def backup_restore(path: Path, *, replace: bool = False) -> dict[str, Any]:
    """Load the archive at ``path`` into this installation; return its manifest."""
    from projects.models import Project

    try:
        archive = tarfile.open(path, "r")  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError) as error:
        raise ApplicationError(f"Not a backup that can be read ({error}).") from None
    with archive, tempfile.TemporaryDirectory() as tmp:
        try:
            manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        except (KeyError, ValueError):
            raise ApplicationError("The archive has no manifest: it is not a StoryVideo backup.") from None
        if manifest.get("format") != FORMAT:
            raise ApplicationError("The archive is not a StoryVideo backup.")
        missing = sorted({tuple(m) for m in manifest["migrations"]} - {tuple(m) for m in _migrations()})
        if missing:
            raise ApplicationError(
                f"The backup was made by a newer StoryVideo ({len(missing)} migration(s) not applied here, "
                f"e.g. {missing[0][0]}.{missing[0][1]}): update this installation, migrate, then restore."
            )
        if Project.objects.exists() and not replace:
            raise ApplicationError("This installation has projects: restore with --replace to empty it first.")
        archive.extract("db.json", tmp, filter="data")
        with transaction.atomic():
            if replace:
                call_command("flush", interactive=False, verbosity=0)
            call_command("loaddata", str(Path(tmp) / "db.json"), verbosity=0)
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith("media/"):
                continue
            name = member.name.removeprefix("media/")
            if ".." in Path(name).parts or default_storage.exists(name):
                continue
            stored = default_storage.save(name, File(archive.extractfile(member), name=name))
            if stored != name:
                raise ApplicationError(f"{name} could not be stored under its own name.")
    return manifest
