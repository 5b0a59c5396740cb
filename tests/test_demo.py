"""`make demo`'s command: a story through the queue to a film, ending in one short summary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inference.media import probe
from tests.workers import ROOT, worker_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_make_video_ends_with_a_short_summary_of_what_ran_and_where_the_film_is(tmp_path: Path) -> None:
    story = tmp_path / "story.txt"
    story.write_text("Ada climbed the lighthouse stairs. Pip the cat followed her, counting.", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "manage.py", "make_video", str(story), "--shots", "2", "--resolution", "480p"],
        cwd=ROOT,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    summary = done.stdout[done.stdout.rindex("\n\n") :].strip().splitlines()
    assert len(summary) <= 12 and all(len(line) <= 120 for line in summary), summary
    lines = {line.split()[0]: line for line in summary[1:]}
    title, duration = summary[0].rsplit(" — 2 shots, ", 1)
    assert title and duration.endswith(" s")
    assert "Storyboard" in lines and "Pictures" in lines and "Voices" in lines and "Motion" in lines
    film = Path(lines["Film"].split(maxsplit=1)[1])
    streams = probe(film)
    assert streams.video_streams == 1 and streams.audio_streams == 1
    assert abs(streams.duration - float(duration.removesuffix(" s"))) < 0.2
    assert Path(lines["Subtitles"].split(maxsplit=1)[1]).read_text(encoding="utf-8").startswith("1\n")
    assert "/projects/" in lines["Open"]
