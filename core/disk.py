"""Free space where films are written: the scratch folder the engines write in and the media
folder (where stored locally). Read by the health check and ``doctor``."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


@dataclass(frozen=True)
class Space:
    path: Path
    free: int  # bytes

    @property
    def low(self) -> bool:
        return self.free < settings.DISK_FREE_MIN_BYTES


def disk_space() -> list[Space]:
    """One entry per file system the scratch and media folders are on (the nearest existing
    folder of each is measured)."""
    folders = [settings.VAR_DIR / "work"]
    if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):  # type: ignore[index]
        folders.append(Path(settings.MEDIA_ROOT))
    found: dict[int, Space] = {}
    for folder in folders:
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        found.setdefault(os.stat(existing).st_dev, Space(folder, shutil.disk_usage(existing).free))
    return list(found.values())
