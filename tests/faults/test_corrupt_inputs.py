"""Issue 12's fault suite: corrupt inputs reaching a real media worker (a damaged disk, an
interrupted copy, a file from elsewhere): a zero-byte keyframe, a narration cut short, a keyframe
of the wrong size. A damaged file fails the render at once (not retried: retrying cannot mend
it), names the shot and says what to do; the film that was there stays. A file that is merely
of another size is fitted to the frame."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from inference.media import probe
from projects.models import Project
from projects.pipeline import project_render
from tasks.models import Task
from tests.workers import wait_for, workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]
S = Task.Status


def zero_bytes(path: Path) -> None:
    path.write_bytes(b"")


def cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: 44 + (len(data) - 44) // 3])  # the header still says the whole length


def render_with_a_worker(project: Project, tmp_path: Path) -> Task:
    task = project_render(project=project, force=True)
    with workers(tmp_path, "media") as (worker,):
        wait_for(
            lambda: Task.objects.get(pk=task.pk).status in (S.FINISHED, S.FAILED),
            timeout=120,
            what=f"the render to end: {worker.output()[-2000:]}",
        )
    task.refresh_from_db()
    return task


@pytest.mark.parametrize(
    ("field", "damage", "message"),
    [
        ("image_file", zero_bytes, "Shot 2: its keyframe is missing or empty; regenerate it."),
        ("speech_file", cut_short, "Shot 2: its narration audio is cut short: it holds"),
    ],
    ids=["zero-byte keyframe", "narration cut short"],
)
def test_a_damaged_input_fails_the_render_at_once_naming_the_shot(
    rendered: Project, tmp_path: Path, field: str, damage: object, message: str
) -> None:
    film = rendered.render_video.name
    shot = rendered.shots.get(order=1)
    shot.pinned_duration = 5.0  # an edit, so that there is a new film to make
    shot.save()
    assert callable(damage)
    damage(Path(getattr(shot, field).path))

    task = render_with_a_worker(rendered, tmp_path)
    assert (task.status, task.attempt) == (S.FAILED, 1), task.message
    assert task.message.startswith(message), task.message
    assert "regenerate" in task.message.lower()
    rendered.refresh_from_db()
    assert rendered.render_video.name == film and Path(rendered.render_video.path).is_file()
    # The status line is derived once the job has settled its tasks, just after the task's own commit.
    wait_for(lambda: "Shot 2" in Project.objects.get(pk=rendered.pk).status_message, timeout=10, what="the status")


def test_a_keyframe_of_another_size_is_fitted_to_the_frame(rendered: Project, tmp_path: Path) -> None:
    shot = rendered.shots.get(order=0)
    with Image.open(shot.image_file.path) as image:
        small = image.convert("RGB").resize((37, 23))
    small.save(shot.image_file.path, format="PNG")
    shot.pinned_duration = 5.0
    shot.save()

    task = render_with_a_worker(rendered, tmp_path)
    assert task.status == S.FINISHED, task.message
    rendered.refresh_from_db()
    film = probe(Path(rendered.render_video.path))
    assert (film.width, film.height, film.video_streams, film.audio_streams) == (854, 480, 1, 1)
