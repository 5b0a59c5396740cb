"""The image studio: pictures from a prompt outside any film, into the person's gallery, each
usable on a shot. The task has no project: it is its owner's alone. Here through the API and the
task engine in this process (the draft painter: no weights here); tests/test_models.py paints
them with a tiny real model through a real worker."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from core.storage import thumbnail_name
from shots.models import Picture
from tasks.models import Task
from tasks.reconciler import reconcile
from tasks.services import task_create
from tests.factories import LINES, ProjectFactory, UserFactory, render, shot_with_media
from tests.workers import run_in_thread

pytestmark = pytest.mark.django_db(transaction=True)


def generate(api: APIClient, **body: Any) -> Any:
    return api.post("/api/v1/generate", body, format="json")


def stranger(person: Any = None) -> APIClient:
    client = APIClient()
    client.force_authenticate(person or UserFactory())
    return client


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({}, "prompt", "This field is required."),
        ({"prompt": " "}, "prompt", "This field may not be blank."),
        ({"prompt": "a fox", "count": 9}, "count", "less than or equal to 8"),
        ({"prompt": "a fox", "tier": "draft", "steps": 4}, "steps", "draws draft cards: steps and guidance do not"),
        ({"prompt": "a fox", "tier": "fast", "guidance": 7}, "guidance", "is a distilled model: it takes no guidance"),
        ({"prompt": "a fox", "tier": "best"}, "tier", "is not a valid choice."),
        ({"prompt": "a fox", "aspectRatio": "5:4"}, "aspectRatio", "is not a valid choice."),
        ({"prompt": "a fox", "seed": 4294967295, "count": 2}, "seed", "start at 4294967294 at most."),
        ({"prompt": "a fox", "projectId": "x"}, "projectId", "Unknown field."),
    ],
)
def test_a_request_the_studio_cannot_paint_is_refused_naming_its_field(
    api: APIClient, body: dict[str, Any], field: str, words: str
) -> None:
    answer = generate(api, **body)
    assert answer.status_code == 400, answer.content
    assert words in str(answer.json()["error"]["fields"][field]), answer.json()
    assert not Task.objects.exists()


def test_pictures_outside_any_film_go_to_the_gallery_and_a_shot_can_take_one(
    api: APIClient, user: Any, tmp_path: Path
) -> None:
    answer = generate(
        api, prompt="a paper lantern over a river at night", count=3, seed=100, tier="draft", style="电影",
        aspectRatio="1:1", resolution="480p", negativePrompt="text",
    )  # fmt: skip
    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["kind"] == "studio" and body["projectId"] is None and body["shotId"] is None
    assert body["estimatedSeconds"] is None, "nothing painted here yet: no estimate"
    task = Task.objects.get(pk=body["id"])
    assert task.owner_id == user.pk
    assert api.get(f"/api/v1/tasks/{task.id}").status_code == 200, "the owner follows it"
    assert stranger().get(f"/api/v1/tasks/{task.id}").status_code == 404, "nobody else sees it"
    assert str(task.id) in {t["id"] for t in api.get("/api/v1/tasks").json()["results"]}

    run_in_thread(str(task.id))
    task.refresh_from_db()
    assert task.status == "finished" and task.result["batch"] == 3, task.message

    gallery = api.get("/api/v1/images").json()
    assert gallery["count"] == 3
    pictures = gallery["results"]
    assert [p["seed"] for p in pictures] == [100, 101, 102]
    assert {(p["width"], p["height"], p["tier"], p["style"], p["negativePrompt"]) for p in pictures} == {
        (480, 480, "draft", "cinematic", "text")
    }
    assert {p["taskId"] for p in pictures} == {str(task.id)}
    assert sorted(task.result["pictures"]) == sorted(p["id"] for p in pictures)
    for picture in pictures:
        assert picture["prompt"] == "a paper lantern over a river at night" and picture["fileSize"] > 0
        assert api.get(picture["url"]).status_code == 200
        thumb = api.get(picture["thumbnailUrl"])
        assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
    assert api.get(f"/api/v1/images/{pictures[1]['id']}").json()["seed"] == 101
    assert stranger().get("/api/v1/images").json()["count"] == 0
    assert stranger().get(f"/api/v1/images/{pictures[1]['id']}").status_code == 404

    # the next request is estimated from this one's time per picture
    again = generate(api, prompt="a fox", count=2, tier="draft").json()
    per_picture = (task.finished_at - task.started_at).total_seconds() / 3
    assert again["estimatedSeconds"] == pytest.approx(round(per_picture * 2, 1), abs=0.11)
    Task.objects.filter(pk=again["id"]).update(status="cancelled")
    other_tier = generate(api, prompt="a fox", count=2, tier="fast").json()  # a drawn card says nothing of it
    assert other_tier["estimatedSeconds"] is None  # nothing painted in it yet, and no keyframe here
    Task.objects.filter(pk=other_tier["id"]).update(status="cancelled")

    # a shot of one of the person's films takes one: a new version with its seed; only its part
    # of the film is redone; a stranger can neither use the picture nor reach the shot
    project = ProjectFactory(owner=user, resolution="480p")
    shot = shot_with_media(project, 0, LINES[0], tmp_path)
    assert render(project).status == "finished"
    chosen = Picture.objects.get(pk=pictures[1]["id"])
    used = api.post(f"/api/v1/images/{chosen.id}/use", {"shotId": str(shot.id)}, format="json")
    assert used.status_code == 200, used.content
    shot.refresh_from_db()
    assert (shot.image_file.name, shot.image_hash, shot.seed) == (chosen.file.name, chosen.hash, 101)
    assert shot.versions.filter(stage="image").order_by("-number").first().hash == chosen.hash
    assert project.tasks.filter(kind="compose", status__in=Task.UNFINISHED).exists()
    someone = UserFactory()
    other = stranger(someone)
    refused = other.post(f"/api/v1/images/{chosen.id}/use", {"shotId": str(shot.id)}, format="json")
    assert refused.status_code == 404
    own_shot = shot_with_media(ProjectFactory(owner=someone), 0, LINES[0], tmp_path)
    not_theirs = other.post(f"/api/v1/images/{chosen.id}/use", {"shotId": str(own_shot.id)}, format="json")
    assert not_theirs.status_code == 404 and "No such picture in your gallery" in not_theirs.json()["error"]["message"]

    # deleting: out of the gallery; the file stays where a shot took it, else goes with its thumbnail
    unused = Picture.objects.get(pk=pictures[0]["id"])
    assert other.delete(f"/api/v1/images/{unused.id}").status_code == 404
    assert api.delete(f"/api/v1/images/{unused.id}").status_code == 204
    assert api.delete(f"/api/v1/images/{chosen.id}").status_code == 204
    assert api.get("/api/v1/images").json()["count"] == 1
    assert not default_storage.exists(unused.file.name) and not default_storage.exists(thumbnail_name(unused.file.name))
    assert default_storage.exists(chosen.file.name), "the shot's picture stays"
    assert api.get(f"/api/v1/shots/{shot.id}").json()["image"]["url"]


def test_work_outside_any_film_needs_an_owner_and_settles_with_no_project(user: Any) -> None:
    with pytest.raises(ValueError, match="to a project or, outside any film, to an owner"):
        task_create(kind="studio", project=None, params={})
    params = {"prompt": "x", "count": 1, "seed": 1, "steps": 1, "guidance": 0.0, "negativePrompt": ""}
    task = task_create(
        kind="studio", project=None, owner_id=user.pk,
        params=params | {"look": {"tier": "draft", "style": "", "aspect_ratio": "16:9", "resolution": "480p"}},
    )  # fmt: skip
    long_ago = timezone.now() - timedelta(days=1)
    Task.objects.filter(pk=task.pk).update(status="processing", started_at=long_ago, attempt=task.max_attempts)
    report = reconcile()  # its last attempt lost: failed, with no project to settle
    task.refresh_from_db()
    assert (task.status, report.failed) == ("failed", 1), task.error
    assert "ran past its" in task.error


def test_the_readmes_studio_examples_run_as_written(api: APIClient, user: Any, tmp_path: Path) -> None:
    from tests.test_clients import readme_requests

    wanted = ("/api/v1/generate", "/api/v1/images", "/api/v1/models")
    examples = [(method, path, body) for method, path, body in readme_requests() if path.startswith(wanted)]
    assert [(method, path.split("/")[3]) for method, path, _ in examples] == [
        ("POST", "generate"),
        ("GET", "images"),
        ("POST", "images"),
        ("DELETE", "images"),
        ("GET", "models"),
    ], examples
    (_, asked, body), (_, listed, _), (_, use, use_body), (_, delete, _), (_, models, _) = examples
    answer = api.post(asked, body, format="json")
    assert answer.status_code == 202, answer.content
    run_in_thread(answer.json()["id"])
    pictures = api.get(listed).json()["results"]
    assert len(pictures) == 2 and {(p["width"], p["height"], p["style"]) for p in pictures} == {(720, 720, "cinematic")}
    shot = shot_with_media(ProjectFactory(owner=user, resolution="480p"), 0, LINES[0], tmp_path)
    picture = pictures[0]["id"]
    shot_body = {"shotId": use_body["shotId"].replace("$SHOT", str(shot.id))}
    used = api.post(use.replace("$PICTURE", picture), shot_body, format="json")
    assert used.status_code == 200, used.content
    assert api.delete(delete.replace("$PICTURE", picture)).status_code == 204
    assert api.get(models).status_code == 200


def test_operators_see_the_galleries_and_a_deletion_there_releases_the_file(api: APIClient) -> None:
    from django.test import Client

    answer = generate(api, prompt="a kite", count=2, tier="draft")
    run_in_thread(answer.json()["id"])
    first, second = Picture.objects.all()
    operator = Client()
    operator.force_login(UserFactory(is_staff=True, is_superuser=True))
    listed = operator.get("/admin/shots/picture/")
    assert listed.status_code == 200 and b"2 pictures" in listed.content
    assert operator.get(f"/admin/shots/picture/{first.pk}/change/").status_code == 200
    gone = operator.post(f"/admin/shots/picture/{first.pk}/delete/", {"post": "yes"})
    assert gone.status_code == 302 and not default_storage.exists(first.file.name)
    action = {"action": "delete_selected", "_selected_action": [str(second.pk)], "post": "yes"}
    assert operator.post("/admin/shots/picture/", action).status_code == 302
    assert not Picture.objects.exists() and not default_storage.exists(second.file.name)
