"""The render cache (``VAR_DIR/cache/segments``): each shot's segment, each transition, each
piece of sound and each clip's measured loudness, kept by a key made of what they are made
from, so that an edit renders only what it changed. An entry is touched whenever a render uses
it; once the cache is over its size, the entries used longest ago go first, and none a render
used within the last ``keep_s`` seconds (a render under way may still read it). A pruned entry
is only made again the next time a film needs it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("storyvideo.inference")

STAMP = ".pruned"  # when the cache was last pruned
KEPT = {STAMP, "fonts"}  # not entries: the stamp, and the caption fonts' links libass reads


def hit(path: Path) -> bool:
    """Whether a cache entry is there; if it is, it is marked as used now."""
    try:
        os.utime(path)
    except FileNotFoundError:
        return False
    return True


@dataclass(frozen=True)
class Pruned:
    entries: int
    freed: int  # bytes
    kept: int  # bytes left in the cache


def _size(path: Path) -> int:
    try:
        if path.is_dir() and not path.is_symlink():
            return sum(entry.lstat().st_size for entry in path.rglob("*"))
        return path.lstat().st_size
    except FileNotFoundError:  # removed meanwhile by another process's pruning
        return 0


def prune(cache_dir: Path, *, max_bytes: int, keep_s: float, every_s: float = 0.0) -> Pruned | None:
    """Bring the cache under ``max_bytes``, oldest use first, sparing what was used within
    ``keep_s``. Runs at most once every ``every_s`` seconds (a stamp in the folder says when it
    last ran; None when it did not run now)."""
    stamp = cache_dir / STAMP
    now = time.time()
    with contextlib.suppress(FileNotFoundError):
        if now - stamp.stat().st_mtime < every_s:
            return None
    if not cache_dir.is_dir():
        return None
    stamp.touch()
    entries = []
    for entry in cache_dir.iterdir():
        if entry.name in KEPT:
            continue
        with contextlib.suppress(FileNotFoundError):
            entries.append((entry.lstat().st_mtime, entry, _size(entry)))
    total = sum(size for *_, size in entries)
    removed = freed = 0
    for used, entry, size in sorted(entries, key=lambda item: item[0]):
        if total <= max_bytes or now - used < keep_s:
            break
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        total -= size
        freed += size
        removed += 1
    if removed:
        logger.info("Render cache: %d entries removed (%.1f MiB), %.1f MiB kept", removed, freed / 2**20, total / 2**20)
    return Pruned(entries=removed, freed=freed, kept=total)
