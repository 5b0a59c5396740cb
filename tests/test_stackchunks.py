"""The frame-stack shim (core/native/stackchunks.c): built by make setup, installed in every
Django process, and a call path that moves across a chunk's edge no longer maps fresh memory on
each call (counted in page faults, which do not depend on the machine's speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core import stackchunks

ROOT = Path(__file__).resolve().parent.parent

# Calls 400 deep and back, 50 times at each depth: those past the first chunk's edge take a new
# chunk each time unless one is kept. Prints the page faults it caused and what it computed.
CROSSING = """
import resource, sys
if sys.argv[1] == "shim":
    from core import stackchunks
    assert stackchunks.install()
def down(n):
    return 0 if n == 0 else down(n - 1) + 1
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
total = sum(down(depth) for depth in range(400) for _ in range(50))
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, total)
"""


def _faults(mode: str) -> tuple[int, int]:
    out = subprocess.run(
        [sys.executable, "-c", CROSSING, mode], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[0]), int(out[1])


def test_the_shim_is_built_and_installed_in_a_django_process() -> None:
    assert stackchunks.AFFECTED, "this interpreter needs no shim: the test is for CPython 3.11 and 3.12"
    assert stackchunks.library().is_file(), "make setup builds it (make .venv/.stackchunks)"
    assert stackchunks.install()  # already there since the apps were ready: installing again is a no-op


def test_calls_across_a_chunks_edge_stop_mapping_fresh_memory_and_compute_the_same() -> None:
    without, total = _faults("plain")
    with_shim, same_total = _faults("shim")
    assert same_total == total == 50 * sum(range(400))
    assert without > 10_000, f"the crossing should have faulted in a new chunk each time ({without} faults)"
    assert with_shim < without / 100, (with_shim, without)


def test_without_a_compiler_the_build_says_so_and_leaves_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert stackchunks.build(compiler="/nonexistent/cc") is None
    assert "was not built" in capsys.readouterr().err
    assert not list(stackchunks.library().parent.glob(".stackchunks*"))
