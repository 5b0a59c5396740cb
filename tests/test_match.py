"""The film check's picture-against-words score (issue 30): where a CLIP is installed (the
likeness model on disk; a tiny random one here, loaded by the same code as
openai/clip-vit-base-patch32), each picture of a render is scored against its narration by a
task on the inference queue, the weakest shots are named in the check, an edit scores only the
shot it changed, and the render's webhook waits for the score."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from inference import engines
from inference.filmcheck import MATCH_DRIFT, match_findings
from projects.match import MATCH, match_after_render
from projects.models import Project
from projects.webhooks import WEBHOOK, webhook_due_of
from shots.services import shot_update
from tasks.jobs import run_task
from tasks.models import Task
from tasks.queues import INFERENCE, presence_beat, presence_end
from tests import tiny_models
from tests.factories import ProjectFactory, render, shot_with_media

S = Task.Status


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_models.build_clip(tmp_path_factory.mktemp("clip"))


def direct_scores(clip: Path, pictures: list[Path], texts: list[str]) -> list[float]:
    """The cosine of CLIP's picture and text embeddings, computed here with transformers alone."""
    import torch
    from PIL import Image
    from transformers import CLIPModel, CLIPProcessor

    model, processor = CLIPModel.from_pretrained(clip).eval(), CLIPProcessor.from_pretrained(clip)
    images = [Image.open(path).convert("RGB") for path in pictures]
    with torch.inference_mode():
        inputs = processor(text=texts, images=images, return_tensors="pt", padding=True, truncation=True)
        image = model.get_image_features(pixel_values=inputs["pixel_values"]).pooler_output
        text = model.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
        text = text.pooler_output
    return torch.nn.functional.cosine_similarity(image, text, dim=-1).tolist()


def test_the_shots_that_match_their_words_least_are_named_weakest_first() -> None:
    scores = [(1, 0.30), (2, 0.31), (3, 0.20), (4, 0.29), (5, 0.22), (6, 0.26)]
    named = match_findings(scores)
    # 3 is 0.076 below the others' mean, 5 0.052; 6 only 0.004 (under MATCH_DRIFT), 1, 2 and 4 above it
    assert [f.shot for f in named] == [3, 5]
    assert named[0].check == "match" and named[0].severity == "warning"
    assert named[0].data == {"shot": 3, "score": 0.2, "others": 0.276}
    assert named[0].message == "Shot 3's picture matches its words less than the others do (0.20 against 0.28)."
    assert "Regenerate its picture" in named[0].action
    assert match_findings([(1, 0.3), (2, 0.0)]) == []  # two shots: neither is the odd one out
    many = [(n, 0.3) for n in range(1, 11)] + [(11, 0.1), (12, 0.12), (13, 0.14), (14, 0.16)]
    assert [f.shot for f in match_findings(many)] == [11, 12, 13]  # at most three, the weakest


def test_a_clip_is_installed_only_where_the_likeness_model_is_one_on_disk(clip: Path, tmp_path: Path) -> None:
    assert engines.matcher(f"transformers:{clip}", models_dir=tmp_path) == str(clip)
    assert engines.matcher("hash", models_dir=tmp_path) is None  # the draft measure knows no words
    assert engines.matcher(f"transformers:{tmp_path / 'absent'}", models_dir=tmp_path) is None


@pytest.fixture
def film(user: Any, tmp_path: Path) -> Project:
    """Four shots with drawn pictures and spoken lines, the fourth's words unlike the rest."""
    project = ProjectFactory(owner=user, resolution="480p", language="en")
    lines = ["Ada climbed the stairs.", "Ada climbed the stairs.", "Ada climbed the stairs.", "A ship in a storm."]
    for order, line in enumerate(lines):
        shot_with_media(project, order, line, tmp_path)
    return project


@contextmanager
def an_inference_worker_saying(cannot: dict[str, list[str]]) -> Iterator[None]:
    """A live inference worker's presence, saying what it cannot do (nothing: its CLIP is on its
    disk). Said once for as long as it lasts: a real worker says it every second, and a render on
    a loaded machine may take longer than the presence's few seconds."""
    with override_settings(WORKER_PRESENCE_TTL_S=600):
        presence_beat(INFERENCE, cannot)
    try:
        yield
    finally:
        presence_end(INFERENCE)


def rendered_beside_a_clip_worker(project: Project) -> None:
    """Render the film as a worker would, while an inference worker that can score it is live."""
    with an_inference_worker_saying({}):
        assert render(project).status == S.FINISHED


def scored(project: Project) -> Task:
    """Render the film, then its score (the task the render queued), as workers would."""
    rendered_beside_a_clip_worker(project)
    task = Task.objects.get(project=project, kind=MATCH, status=S.PENDING)
    run_task(str(task.id))
    task.refresh_from_db()
    return task


@pytest.mark.django_db(transaction=True)  # the tasks run as a worker's jobs do, on their own connection
def test_a_render_is_scored_against_its_words_and_the_weakest_shot_named(
    film: Project, clip: Path, api: APIClient, settings: Any
) -> None:
    from core.storage import local_path

    settings.LIKENESS_MODEL = f"transformers:{clip}"
    shots = list(film.shots.order_by("order"))
    expected = direct_scores(clip, [local_path(s.image_file) for s in shots], [s.narration for s in shots])
    others = sum(expected[:3]) / 3
    assert expected[3] <= others - MATCH_DRIFT  # the premise (random weights, seeded): the fourth is the odd one

    task = scored(film)
    assert task.status == S.FINISHED and task.result["scored"] == 4 and task.result["model"] == str(clip)
    check = api.get(f"/api/v1/projects/{film.pk}/check").json()
    match = check["match"]
    assert [row["shot"] for row in match["shots"]] == [1, 2, 3, 4]
    assert [row["score"] for row in match["shots"]] == pytest.approx(expected, abs=1e-3)
    assert {row["against"] for row in match["shots"]} == {"narration"}
    named = [f for f in check["findings"] if f["check"] == "match"]
    assert [(f["shot"], f["shotId"]) for f in named] == [(4, str(shots[3].pk))]
    assert check["warningCount"] == sum(f["severity"] == "warning" for f in check["findings"])
    assert task.message == "Pictures held against their words: shots 4 match least (regenerate their pictures)."

    # An edit to one shot's words: the next render scores that shot alone, the rest are kept.
    shot_update(shot=shots[3], changes={"narration": "Ada climbed the stairs."})
    for voice in Task.objects.filter(project=film, kind="speech", status=S.PENDING):
        run_task(str(voice.id))
    again = scored(film)
    assert again.result["scored"] == 1
    check = api.get(f"/api/v1/projects/{film.pk}/check").json()
    assert check["match"]["shots"][:3] == match["shots"][:3]
    assert not [f for f in check["findings"] if f["check"] == "match"]  # the same words now: none stands out


@pytest.mark.django_db(transaction=True)
def test_the_webhook_of_a_render_waits_for_its_score(film: Project, clip: Path, settings: Any) -> None:
    settings.LIKENESS_MODEL = f"transformers:{clip}"
    Project.objects.filter(pk=film.pk).update(webhook_url="https://example.com/hook")
    rendered_beside_a_clip_worker(film)
    match = Task.objects.get(project=film, kind=MATCH)
    assert match.status == S.PENDING and not Task.objects.filter(project=film, kind=WEBHOOK).exists()
    assert webhook_due_of(project_id=film.pk) is None  # the check is not complete yet
    run_task(str(match.id))  # its job settles: the delivery is made now, with the score in its check
    assert Task.objects.filter(project=film, kind=WEBHOOK).count() == 1


@pytest.mark.django_db(transaction=True)
def test_without_a_clip_a_render_queues_no_score(film: Project, clip: Path, settings: Any) -> None:
    settings.LIKENESS_MODEL = f"transformers:{clip}"
    assert render(film).status == S.FINISHED  # no inference worker is live: none would score it
    assert not Task.objects.filter(project=film, kind=MATCH).exists()
    film.refresh_from_db()
    assert "match" not in film.render_manifest["check"]

    # The render's own call, asked again: every live inference worker said it has no CLIP on its
    # disk; then the likeness model is the draft measure, with a worker that says nothing against.
    with an_inference_worker_saying({MATCH: [settings.LIKENESS_MODEL, "no CLIP is on disk here"]}):
        assert match_after_render(project=film) is None
    with an_inference_worker_saying({}):
        settings.LIKENESS_MODEL = "hash"
        assert match_after_render(project=film) is None
        settings.LIKENESS_MODEL = f"transformers:{clip}"
        assert match_after_render(project=film) is not None  # the control: this one would be scored


@pytest.mark.django_db(transaction=True)
def test_a_score_whose_clip_is_gone_fails_saying_so_and_the_webhook_goes_on(
    film: Project, clip: Path, tmp_path: Path, settings: Any
) -> None:
    settings.LIKENESS_MODEL = f"transformers:{clip}"
    Project.objects.filter(pk=film.pk).update(webhook_url="https://example.com/hook")
    rendered_beside_a_clip_worker(film)
    settings.LIKENESS_MODEL = f"transformers:{tmp_path / 'gone'}"  # the worker that takes it has none
    match = Task.objects.get(project=film, kind=MATCH)
    run_task(str(match.id))
    match.refresh_from_db()
    assert match.status == S.FAILED and match.attempt == 1
    assert match.message.startswith(f"No CLIP is on disk here (LIKENESS_MODEL transformers:{tmp_path / 'gone'})")
    assert Task.objects.filter(project=film, kind=WEBHOOK).count() == 1
    film.refresh_from_db()
    assert film.status == Project.Status.RENDERED and "match" not in film.render_manifest["check"]
