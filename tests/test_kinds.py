"""Each kind of work is declared once, by the app that owns it (``tasks.registry``), and each shot
stage once (``shots.stages``): the engine takes a kind's queue, timeout, batching and policy from
its declaration and knows no kind by name; what no app declared is refused before anything is
written."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from django.db import models, transaction
from rq import Queue

from core.redis import get_redis
from shots.kinds import ImageWork
from shots.models import Shot, ShotVersion
from shots.serializers import ShotSerializer
from shots.stages import STAGES
from tasks.jobs import run_task
from tasks.models import Task
from tasks.queues import INFERENCE, MEDIA, QUEUES
from tasks.registry import KINDS, Kind, Progress, register
from tasks.services import task_create, task_finish
from tests.factories import ProjectFactory, ShotFactory

ROOT = Path(__file__).resolve().parent.parent
FILM_WORDS = {
    "storyboard",
    "image",
    "motion",
    "speech",
    "compose",
    "clips",
    "match",
    "webhook",
    "refine",
    "translate",
    "candidates",
    "story",
    "likeness",
    "studio",
    "optimize",
}


class Echo(Kind):
    """A kind a test declares: it says back what it was given."""

    name = "echo"
    queue = MEDIA

    def timeout_s(self) -> int:
        return 42

    def run(self, task: Task, progress: Progress) -> dict[str, Any]:
        progress(0.5, "saying it")
        return {"said": task.params["text"]}

    def apply(self, task: Task, output: dict[str, Any]) -> str:
        task_finish(task=task, result=output)
        return "echo"


@pytest.mark.django_db
def test_a_task_of_a_kind_nobody_registered_is_refused_before_anything_is_written(user: Any) -> None:
    project = ProjectFactory(owner=user)
    with pytest.raises(LookupError, match="No task kind 'nonsense' is registered"), transaction.atomic():
        task_create(kind="nonsense", project=project)
    assert not Task.objects.exists()
    field = Task._meta.get_field("kind")
    with pytest.raises(Exception, match="not a registered kind"):
        field.run_validators("nonsense")


def test_a_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):

        @register
        class Again(Kind):
            name = "image"
            queue = INFERENCE

    assert isinstance(KINDS["image"], ImageWork)


@pytest.mark.django_db(transaction=True)
def test_a_new_kind_is_one_declaration_whose_queue_and_timeout_the_engine_takes(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(KINDS, "echo", Echo())
    project = ProjectFactory(owner=user)
    task = task_create(kind="echo", project=project, params={"text": "hello"})
    task.refresh_from_db()
    assert task.timeout_s == 42 and task.status == "pending"
    assert task.job_id in Queue(MEDIA, connection=get_redis()).job_ids, "queued on the queue it declares"
    assert run_task(str(task.id)) == "finished"
    task.refresh_from_db()
    assert (task.status, task.result) == ("finished", {"said": "hello"})


@pytest.mark.django_db(transaction=True)  # a job opens its own connection, as a worker's does
def test_a_task_whose_kind_is_no_longer_registered_fails_at_once_saying_so(user: Any) -> None:
    project = ProjectFactory(owner=user)
    task = Task.objects.create(kind="retired", project=project, owner=user)  # a row an older version left
    assert run_task(str(task.id)) == "failed"
    task.refresh_from_db()
    assert task.status == "failed" and "No task kind 'retired' is registered" in task.message


def test_every_kind_of_the_film_is_declared_with_a_queue_it_has() -> None:
    assert set(KINDS) == FILM_WORDS
    assert {kind.queue for kind in KINDS.values()} <= set(QUEUES)
    assert all(kind.timeout_s() > 0 and kind.batch_size() >= 1 for kind in KINDS.values())


@pytest.mark.parametrize("stage", STAGES.values(), ids=str)
def test_each_stage_is_one_declaration_with_its_columns_its_kind_and_its_field(stage: Any) -> None:
    for column in (stage.file_field, stage.hash_field, stage.version_field, stage.source_field):
        Shot._meta.get_field(column)
    assert isinstance(Shot._meta.get_field(stage.file_field), models.FileField)
    assert all(Shot._meta.get_field(name) for name in stage.kept_fields)
    assert set(stage.made_from) <= set(STAGES)
    assert KINDS[stage.name].queue == INFERENCE
    assert stage.name in ShotSerializer().fields
    assert not ShotVersion._meta.get_field("stage").choices, "a plain name: a new stage needs no migration of it"


@pytest.mark.django_db
def test_a_stage_result_is_read_and_written_through_its_declaration() -> None:
    shot = ShotFactory()
    for stage in STAGES.values():
        result = shot.result(stage)
        result.set(file=f"{stage.folder}/x.bin", digest="d" * 64, source="own:x.bin")
    shot.save()
    shot.refresh_from_db()
    assert all(shot.result(stage).file_name == f"shots/{stage.name}/x.bin" for stage in STAGES.values())
    assert all(shot.result(stage).own and shot.result(stage).version == 1 for stage in STAGES.values())
    Shot.objects.filter(pk=shot.pk).update(**STAGES["motion"].cleared())
    shot.refresh_from_db()
    assert (shot.result(STAGES["motion"]).file_name, shot.result(STAGES["motion"]).version) == ("", 2)


def test_the_task_engine_says_no_word_of_the_film() -> None:
    """tasks/ names no kind of the film in its code (docstrings and comments aside)."""
    found = {}
    for path in (ROOT / "tasks").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        words = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
        }
        if words & FILM_WORDS:
            found[str(path.relative_to(ROOT))] = sorted(words & FILM_WORDS)
    assert found == {}


def test_a_kind_that_cannot_say_whether_it_runs_does_not_silence_its_worker(settings: Any) -> None:
    """A worker says with its presence which work it cannot do (``Kind.cannot_run``); a kind whose
    answer raises is logged and left out, and the others are still said (the presence goes on)."""
    from tasks.management.commands.worker import Maintenance
    from tasks.registry import replace

    settings.STORYBOARD_MODEL = "transformers:some-lab/not-on-this-disk"

    class Broken(Kind):
        name = "story"
        queue = "language"

        def cannot_run(self) -> str | None:
            raise RuntimeError("a malformed setting")

    old = replace(Broken())
    try:
        said = Maintenance(["language"]).cannot()["language"]
    finally:
        replace(old)
    assert "story" not in said
    assert said["refine"][0] == "transformers:some-lab/not-on-this-disk"
    assert "are not on disk" in said["refine"][1]
