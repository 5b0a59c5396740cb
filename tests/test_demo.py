"""`make demo`'s command: a story through the queue to a film, ending in one short summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from inference.media import probe
from projects.models import Project
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
    assert "LUFS" in lines["Check"]  # the film check's one line


def make_video(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "make_video", *args],
        cwd=ROOT,
        env=worker_env(**env),
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )


def stories(folder: Path) -> Path:
    folder.mkdir()
    (folder / "a-lighthouse.txt").write_text("Ada lit the lamp. The ship came home.", encoding="utf-8")
    (folder / "b-moon.txt").write_text("月亮上的小兔子提着灯笼。它回家了。", encoding="utf-8")
    return folder


def test_a_batch_checks_every_story_first_and_makes_nothing_when_one_is_wrong(tmp_path: Path) -> None:
    manifest = tmp_path / "films.json"
    manifest.write_text(
        json.dumps(
            [
                {"file": "c.txt", "shots": 99},
                {"file": "missing.txt"},
                {"file": "c.txt", "colour": "red"},
                {"file": "c.txt", "style": "x" * 101},
            ]
        ),
        encoding="utf-8",
    )
    (tmp_path / "c.txt").write_text("A fox found a bell.", encoding="utf-8")
    done = make_video(str(stories(tmp_path / "stories")), "--manifest", str(manifest), "--no-workers")
    assert done.returncode == 1
    assert "Nothing was made:" in done.stderr
    assert "c.txt: shots must be between 1 and 60." in done.stderr
    assert "Cannot read" in done.stderr and "missing.txt" in done.stderr
    assert "unknown settings colour" in done.stderr
    assert "c.txt: style must be a preset (cinematic," in done.stderr
    assert not Project.objects.exists()


def test_a_batch_makes_its_films_side_by_side_and_ends_with_a_table(tmp_path: Path) -> None:
    manifest = tmp_path / "films.json"
    (tmp_path / "c.txt").write_text("A fox found a bell. The bell rang all night.", encoding="utf-8")
    manifest.write_text(json.dumps([{"file": "c.txt", "shots": 1, "title": "The Bell"}]), encoding="utf-8")
    folder = stories(tmp_path / "stories")
    done = make_video(str(folder), "--manifest", str(manifest), "--shots", "2", "--resolution", "480p")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "[####################]" in done.stdout  # the bars, drawn until each film was made
    table = done.stdout[done.stdout.rindex("\nStory") :].strip().splitlines()
    assert table[-1] == "3 films made."
    rows = {row.split()[0]: row.split() for row in table[1:-1]}
    assert set(rows) == {"a-lighthouse.txt", "b-moon.txt", "c.txt"}
    for row in rows.values():
        assert row[1] == "made"
        film = probe(Path(row[-1]))
        assert (film.video_streams, film.audio_streams) == (1, 1)
        assert abs(film.duration - float(row[3].removesuffix("s"))) < 0.2
    assert Project.objects.get(title="The Bell").shot_count == 1


def test_a_batch_whose_films_fail_exits_non_zero_naming_them(tmp_path: Path) -> None:
    broken = tmp_path / "ffmpeg"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    done = make_video(
        str(stories(tmp_path / "stories")), "--shots", "1", "--resolution", "480p", IMAGEIO_FFMPEG_EXE=str(broken)
    )
    assert done.returncode == 1, done.stdout[-2000:]
    assert "2 of 2 films failed: a-lighthouse.txt, b-moon.txt." in done.stderr
    rows = [row for row in done.stdout.splitlines() if row.startswith(("a-lighthouse.txt", "b-moon.txt"))]
    assert len(rows) == 2 and all(row.split()[1] == "failed" for row in rows)


@pytest.mark.django_db
def test_a_render_applied_while_the_batch_looks_is_seen_as_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """make_video reads each film's tasks, then the film: a render that lands between two reads
    (its task finished with the film's row, in one transaction) is a film made, not one that
    failed with "Composing the film." or "No film was made" (as loaded runs reported it twice)."""
    from projects.management.commands.make_video import Command
    from tasks.models import Task
    from tests.factories import ProjectFactory

    made = ProjectFactory(status=Project.Status.RENDERING, status_message="Composing the film.")
    project = Project.objects.get(pk=made.pk)
    compose = Task.objects.create(kind="compose", project=project, status=Task.Status.PROCESSING)
    reads = []
    refresh = Project.refresh_from_db

    def read_then_the_render_lands(self: Project, *args: object, **kwargs: object) -> None:
        refresh(self, *args, **kwargs)
        reads.append(self.status)
        if len(reads) == 1:  # right after the first read of the film, the worker commits its render
            Task.objects.filter(pk=compose.pk).update(status=Task.Status.FINISHED)
            Project.objects.filter(pk=project.pk).update(
                status=Project.Status.RENDERED, render_video="renders/film.mp4", render_duration=4.0
            )

    monkeypatch.setattr(Project, "refresh_from_db", read_then_the_render_lands)
    command = Command()
    films = command._wait_all([project], [Path("story.txt")], timeout=10)
    command._table(films, [Path("story.txt")])  # raises CommandError naming a failed film
    assert films[0].render_video.name == "renders/film.mp4" and reads[-1] == Project.Status.RENDERED
    # and one film on its own, which ends with its summary
    Task.objects.filter(pk=compose.pk).update(status=Task.Status.PROCESSING)
    Project.objects.filter(pk=project.pk).update(status=Project.Status.RENDERING, render_video="")
    reads.clear()
    film = command._wait(Project.objects.get(pk=project.pk), timeout=10)
    assert film.render_video.name == "renders/film.mp4" and reads[-1] == Project.Status.RENDERED
