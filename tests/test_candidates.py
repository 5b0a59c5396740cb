"""Pictures to choose from: several painted for a shot in one call, listed with thumbnails, one
chosen as the shot's picture (a new version, with its seed), the rest released after a while.
Here through the API and the task engine in this process (the draft painter: no weights here);
tests/test_models.py paints them with a tiny real model through a real worker."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from core.storage import thumbnail_name
from projects.models import Project
from shots.models import Candidate, Shot
from tasks.models import Task
from tasks.reconciler import reconcile
from tests.factories import LINES, ProjectFactory, UserFactory, render, shot_with_media
from tests.workers import run_in_thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shot(user: Any, tmp_path: Path) -> Shot:
    project = ProjectFactory(owner=user, resolution="480p")
    return shot_with_media(project, 0, LINES[0], tmp_path)


def ask(api: APIClient, shot: Shot, **body: Any) -> Any:
    return api.post(f"/api/v1/shots/{shot.id}/candidates", body, format="json")


@pytest.mark.parametrize(
    ("tier", "body", "field", "words"),
    [
        ("fast", {"count": 0}, "count", "greater than or equal to 1"),
        ("fast", {"count": 9}, "count", "less than or equal to 8"),
        ("fast", {"count": 2, "guidance": 7.5}, "guidance", "is a distilled model: it takes no guidance (0)."),
        ("fast", {"count": 2, "steps": 30}, "steps", "is a distilled model: it paints in 1 to 8 steps."),
        ("draft", {"count": 2, "steps": 2}, "steps", "draws draft cards: steps and guidance do not apply."),
        ("fast", {"count": 2, "seed": 4294967295}, "seed", "The seeds run past 4294967295: start at 4294967294"),
        ("fast", {"count": 2, "colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_a_request_the_tiers_model_cannot_paint_is_refused_naming_its_field(
    api: APIClient, shot: Shot, tier: str, body: dict[str, Any], field: str, words: str
) -> None:
    Project.objects.filter(pk=shot.project_id).update(tier=tier)
    answer = ask(api, shot, **body)
    assert answer.status_code == 400, answer.content
    assert words in str(answer.json()["error"]["fields"][field]), answer.json()
    assert not Task.objects.filter(kind="candidates").exists()


def test_candidates_are_painted_in_one_call_listed_chosen_and_the_rest_released(
    api: APIClient, user: Any, shot: Shot
) -> None:
    project = shot.project
    assert render(project).status == "finished"
    answer = ask(api, shot, count=3, seed=41, negativePrompt="text")
    assert answer.status_code == 202, answer.content
    task = Task.objects.get(pk=answer.json()["id"])
    assert (task.kind, task.params) == (
        "candidates",
        {"count": 3, "seed": 41, "steps": 1, "guidance": 0.0, "negativePrompt": "text"},
    )
    run_in_thread(str(task.id))
    task.refresh_from_db()
    assert task.status == "finished" and len(task.result["candidates"]) == 3, task.message

    listed = api.get(f"/api/v1/shots/{shot.id}/candidates").json()
    assert [c["seed"] for c in listed] == [41, 42, 43]  # one request lists in its seeds' order
    assert {(c["width"], c["height"], c["negativePrompt"]) for c in listed} == {(854, 480, "text")}
    assert len({c["url"] for c in listed}) == 3, "each seed its own picture"
    for candidate in listed:
        assert candidate["fileSize"] > 0 and candidate["thumbnailUrl"].startswith("/media/thumbs/shots/image/")
        assert api.get(candidate["thumbnailUrl"]).status_code == 200
    shot.refresh_from_db()
    assert shot.image_hash not in {c.hash for c in Candidate.objects.all()}, "not the shot's until chosen"
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.get(f"/api/v1/shots/{shot.id}/candidates").status_code == 404

    chosen = next(c for c in listed if c["seed"] == 42)
    before = shot.image_file.name
    answer = api.post(f"/api/v1/shots/{shot.id}/candidates/{chosen['id']}/choose")
    assert answer.status_code == 200, answer.content
    shot.refresh_from_db()
    picked = Candidate.objects.get(pk=chosen["id"])
    assert (shot.image_file.name, shot.image_hash, shot.seed) == (picked.file.name, picked.hash, 42)
    assert shot.negative_prompt == "text" and picked.chosen_at is not None
    assert shot.versions.filter(stage="image").order_by("-number").first().hash == picked.hash
    assert project.tasks.filter(kind="compose", status__in=Task.UNFINISHED).exists(), "only its film is redone"
    assert default_storage.exists(before), "the earlier picture stays in the shot's history"
    missing = api.post(f"/api/v1/shots/{shot.id}/candidates/{task.id}/choose")
    assert missing.status_code == 404, missing.content

    # A day later the two never chosen go, files and thumbnails; the chosen one is the shot's.
    Candidate.objects.update(created_at=timezone.now() - timedelta(days=2))
    unchosen = [c.file.name for c in Candidate.objects.filter(chosen_at__isnull=True)]
    assert reconcile().tidied == 2
    assert list(Candidate.objects.values_list("seed", flat=True)) == [42]
    assert not any(default_storage.exists(name) or default_storage.exists(thumbnail_name(name)) for name in unchosen)
    assert default_storage.exists(shot.image_file.name) and default_storage.exists(thumbnail_name(shot.image_file.name))


def test_the_readmes_candidates_examples_run_as_written(api: APIClient, shot: Shot) -> None:
    from tests.test_clients import readme_requests

    examples = [(method, path, body) for method, path, body in readme_requests() if "/candidates" in path]
    assert [method for method, _path, _body in examples] == ["POST", "GET", "POST"], examples
    (_, asked, body), (_, listed, _), (_, chosen, _) = examples
    answer = api.post(asked.replace("$SHOT", str(shot.id)), body, format="json")
    assert answer.status_code == 202, answer.content
    run_in_thread(answer.json()["id"])
    pictures = api.get(listed.replace("$SHOT", str(shot.id))).json()
    assert sorted(picture["seed"] for picture in pictures) == [1234, 1235, 1236, 1237]
    path = chosen.replace("$SHOT", str(shot.id)).replace("$CANDIDATE", pictures[0]["id"])
    assert api.post(path).status_code == 200


def test_deleting_a_shot_releases_the_pictures_painted_for_it(api: APIClient, shot: Shot) -> None:
    answer = ask(api, shot, count=2)
    run_in_thread(answer.json()["id"])
    names = [c.file.name for c in Candidate.objects.filter(shot=shot)]
    assert len(names) == 2 and all(default_storage.exists(name) for name in names)
    assert api.delete(f"/api/v1/shots/{shot.id}").status_code == 204
    assert not Candidate.objects.exists()
    assert not any(default_storage.exists(name) or default_storage.exists(thumbnail_name(name)) for name in names)
