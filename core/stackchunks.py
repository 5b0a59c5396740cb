"""Frame-stack chunks kept for reuse (``core/native/stackchunks.c``, built by ``make setup``):
without it CPython 3.11 maps and unmaps 16 KiB of memory on many of a request's calls."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

# CPython keeps a chunk itself in its 3.13 and 3.14 releases since March 2026 (gh-142183).
AFFECTED = sys.implementation.name == "cpython" and (3, 11) <= sys.version_info[:2] <= (3, 12)
SOURCE = Path(__file__).parent / "native" / "stackchunks.c"


def library() -> Path:
    """Where ``make setup`` builds the shim: in the virtualenv, for its interpreter."""
    return Path(sys.prefix) / "lib" / f"stackchunks{sysconfig.get_config_var('EXT_SUFFIX')}"


def build(compiler: str = "cc") -> Path | None:
    """Compile the shim into the virtualenv; None, saying why on stderr, where it cannot be (the
    project runs the same without it, only slower)."""
    if not AFFECTED:
        return None
    target = library()
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    command = [compiler, "-O2", "-shared", "-fPIC", f"-I{sysconfig.get_paths()['include']}", "-o", str(partial)]
    try:
        subprocess.run([*command, str(SOURCE)], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        print(f"The frame-stack shim was not built ({detail.strip()[-300:]}); going on without it.", file=sys.stderr)
        return None
    os.replace(partial, target)
    return target


def install() -> bool:
    """Wrap the arena allocator, once per process; False where this interpreter does not need it or
    the shim was not built (nothing changes then)."""
    if not AFFECTED or not library().is_file():
        return False
    shim = ctypes.PyDLL(str(library()))
    shim.stackchunks_install()
    return bool(shim.stackchunks_installed())
