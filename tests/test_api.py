"""The REST API as a client sees it: auth, ownership, validation, shapes and aliases."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from projects.models import Project
from shots.models import Shot
from tasks.models import Task
from tests.clients import CommittingAPIClient
from tests.factories import CharacterFactory, ProjectFactory, ShotFactory

CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def all_keys(value: Any, *, skip_values_of: tuple[str, ...] = ("fields", "result", "params")) -> set[str]:
    """Every key of every object in a JSON document (error ``fields`` name the client's keys)."""
    keys: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            keys.add(key)
            if key not in skip_values_of:
                keys |= all_keys(item)
    elif isinstance(value, list):
        for item in value:
            keys |= all_keys(item)
    return keys


def assert_camel(body: Any) -> None:
    bad = sorted(key for key in all_keys(body) if not CAMEL.match(key))
    assert not bad, f"keys not in lowerCamelCase: {bad}"


def assert_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] and error["message"]
    if field is not None:
        assert field in error["fields"], error
    return error


@pytest.fixture
def zh_story(stories_dir: str) -> str:
    return (Path(stories_dir) / "moon-rabbit.zh.txt").read_text(encoding="utf-8")


@pytest.mark.django_db
def test_a_new_user_signs_up_gets_a_token_and_walks_the_whole_storyboard(zh_story: str, other_api: APIClient) -> None:
    anonymous = CommittingAPIClient()
    signup = anonymous.post(
        "/api/v1/auth/signup", {"username": "mei", "password": "a-long-test-password"}, format="json"
    )
    assert signup.status_code == 201, signup.content
    token = anonymous.post("/api/v1/auth/token", {"username": "mei", "password": "a-long-test-password"}, format="json")
    assert token.status_code == 200
    # Each exchange makes a token of its own (only digests are kept, so none can be shown again).
    assert token.json()["token"] != signup.json()["token"]
    signed_up = CommittingAPIClient()
    signed_up.credentials(HTTP_AUTHORIZATION=f"Token {signup.json()['token']}")
    assert signed_up.get("/api/v1/projects").status_code == 200
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")

    created = client.post("/api/v1/projects", {"story": zh_story, "shotCount": 6, "aspectRatio": "9:16"}, format="json")
    assert created.status_code == 202, created.content
    body = created.json()
    assert_camel(body)
    project = body["project"]
    assert project["title"] == "月亮上的小兔子"
    assert project["language"] == "zh"
    assert (project["width"], project["height"]) == (720, 1280)
    assert [t["kind"] for t in body["tasks"]] == ["storyboard"]
    assert body["tasks"][0]["status"] == "pending"
    pid = project["id"]

    storyboard = client.get(f"/api/v1/projects/{pid}/storyboard")
    assert storyboard.status_code == 200
    assert_camel(storyboard.json())
    assert storyboard.json()["shots"] == []

    first = client.post(
        f"/api/v1/projects/{pid}/shots",
        {"prompt": "a white rabbit on the moon", "narration": "月亮上住着一只小兔子。"},
        format="json",
    )
    assert first.status_code == 201, first.content
    second = client.post(
        f"/api/v1/projects/{pid}/shots", {"prompt": "a dark town", "narration": "小镇一片漆黑。"}, format="json"
    )
    between = client.post(
        f"/api/v1/projects/{pid}/shots",
        {"prompt": "lanterns blown out", "afterShotId": first.json()["id"]},
        format="json",
    )
    assert between.status_code == 201
    ids = [first.json()["id"], between.json()["id"], second.json()["id"]]
    listed = client.get(f"/api/v1/projects/{pid}/shots").json()
    assert [s["id"] for s in listed] == ids
    assert [s["order"] for s in listed] == [0, 1, 2]
    assert_camel(listed)

    edited = client.patch(
        f"/api/v1/shots/{ids[1]}", {"prompt": "paper lanterns in the wind", "camera": "pan_left"}, format="json"
    )
    assert edited.status_code == 200, edited.content
    assert edited.json()["prompt"] == "paper lanterns in the wind"
    assert edited.json()["camera"] == "pan_left"
    assert edited.json()["image"]["version"] == 2

    reordered = client.post(f"/api/v1/projects/{pid}/shots/reorder", {"shotIds": ids[::-1]}, format="json")
    assert reordered.status_code == 200, reordered.content
    assert [s["id"] for s in client.get(f"/api/v1/projects/{pid}/storyboard").json()["shots"]] == ids[::-1]

    assert client.delete(f"/api/v1/shots/{ids[1]}").status_code == 204
    remaining = client.get(f"/api/v1/projects/{pid}/shots").json()
    assert [s["id"] for s in remaining] == [ids[2], ids[0]]
    assert [s["order"] for s in remaining] == [0, 1]

    tasks = client.get(f"/api/v1/tasks?projectId={pid}").json()
    assert_camel(tasks)
    assert tasks["count"] >= 1
    task_id = body["tasks"][0]["id"]
    assert client.get(f"/api/v1/tasks/{task_id}").json()["kind"] == "storyboard"

    # Another user sees none of it.
    for url in (
        f"/api/v1/projects/{pid}",
        f"/api/v1/projects/{pid}/storyboard",
        f"/api/v1/projects/{pid}/shots",
        f"/api/v1/shots/{ids[0]}",
        f"/api/v1/tasks/{task_id}",
    ):
        assert_error(other_api.get(url), 404)
    assert_error(other_api.patch(f"/api/v1/shots/{ids[0]}", {"prompt": "x"}, format="json"), 404)
    assert_error(other_api.delete(f"/api/v1/shots/{ids[0]}"), 404)
    assert_error(other_api.post(f"/api/v1/projects/{pid}/shots", {"prompt": "x"}, format="json"), 404)
    assert_error(other_api.post(f"/api/v1/projects/{pid}/shots/reorder", {"shotIds": [ids[0]]}, format="json"), 404)
    assert_error(other_api.delete(f"/api/v1/projects/{pid}"), 404)
    assert other_api.get("/api/v1/projects").json()["count"] == 0
    assert other_api.get(f"/api/v1/tasks?projectId={pid}").json()["count"] == 0
    assert Shot.objects.filter(id=ids[0]).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "story"),
        ({"story": ""}, "story"),
        ({"story": "x" * 20_001}, "story"),
        ({"story": "A tale.", "shotCount": 0}, "shotCount"),
        ({"story": "A tale.", "shotCount": 61}, "shotCount"),
        ({"story": "A tale.", "shotCount": "many"}, "shotCount"),
        ({"story": "A tale.", "aspectRatio": "4:3"}, "aspectRatio"),
        ({"story": "A tale.", "style": "vaporwave " * 20}, "style"),
        ({"story": "A tale.", "language": "fr"}, "language"),
        ({"story": "A tale.", "shot_count": 3}, "shot_count"),
    ],
)
def test_creating_a_project_with_bad_input_answers_400_naming_the_field(
    api: APIClient, body: dict[str, Any], field: str
) -> None:
    assert_error(api.post("/api/v1/projects", body, format="json"), 400, field)
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_a_story_of_exactly_the_limits_is_accepted(api: APIClient) -> None:
    assert api.post("/api/v1/projects", {"story": "x" * 20_000, "shotCount": 60}, format="json").status_code == 202
    assert api.post("/api/v1/projects", {"story": "y", "shotCount": 1}, format="json").status_code == 202


@pytest.mark.django_db
def test_a_body_over_the_size_limit_answers_413(api: APIClient, settings: Any) -> None:
    body = '{"story": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10) + '"}'
    assert_error(api.post("/api/v1/projects", body, content_type="application/json"), 413)
    assert not Project.objects.exists()


@pytest.mark.django_db
def test_malformed_json_answers_400_in_the_envelope(api: APIClient) -> None:
    assert_error(api.post("/api/v1/projects", "{not json", content_type="application/json"), 400)


@pytest.mark.django_db
def test_anonymous_requests_answer_401_and_wrong_passwords_are_refused(user: Any) -> None:
    client = CommittingAPIClient()
    assert_error(client.get("/api/v1/projects"), 401)
    assert_error(client.post("/api/v1/auth/token", {"username": user.username, "password": "nope"}, format="json"), 401)


@pytest.mark.django_db
def test_shot_edits_validate_each_field(api: APIClient, user: Any) -> None:
    shot = ShotFactory(project=ProjectFactory(owner=user))
    for body, field in (
        ({"camera": "spin"}, "camera"),
        ({"transition": "explode"}, "transition"),
        ({"pinnedDuration": 0.1}, "pinnedDuration"),
        ({"seed": -1}, "seed"),
        ({"characterIds": ["not-a-uuid"]}, "characterIds"),
        ({"prompt": "x" * 2001}, "prompt"),
        ({"order": 3}, "order"),
    ):
        assert_error(api.patch(f"/api/v1/shots/{shot.id}", body, format="json"), 400, field)
    foreign = CharacterFactory()
    assert_error(
        api.patch(f"/api/v1/shots/{shot.id}", {"characterIds": [str(foreign.id)]}, format="json"), 400, "characterIds"
    )
    shot.refresh_from_db()
    assert shot.characters.count() == 0


@pytest.mark.django_db
def test_reorder_refuses_duplicates_and_a_stale_list(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user)
    a, b = ShotFactory(project=project, order=0), ShotFactory(project=project, order=1)
    assert_error(
        api.post(f"/api/v1/projects/{project.id}/shots/reorder", {"shotIds": [str(a.id), str(a.id)]}, format="json"),
        400,
        "shotIds",
    )
    assert_error(api.post(f"/api/v1/projects/{project.id}/shots/reorder", {"shotIds": [str(b.id)]}, format="json"), 409)
    assert list(project.shots.values_list("id", flat=True)) == [a.id, b.id]


@pytest.mark.django_db
def test_rules_of_the_services_answer_with_the_status_they_stand_for(api: APIClient, user: Any) -> None:
    """Services raise one application error; the API says 400 or 409 and what to do, and nothing changes."""
    project = ProjectFactory(owner=user)
    error = assert_error(api.post(f"/api/v1/projects/{project.id}/render"), 400)
    assert "no shots yet" in error["message"]
    assert not project.tasks.exists()
    pending = Task.objects.create(kind="image", project=project)
    error = assert_error(api.post(f"/api/v1/tasks/{pending.id}/retry"), 409)
    assert error["code"] == "conflict" and "failed or cancelled" in error["message"]
    pending.refresh_from_db()
    assert pending.status == Task.Status.PENDING and pending.attempt == 0
    finished = Task.objects.create(kind="image", project=project, status=Task.Status.FINISHED)
    assert "nothing to cancel" in assert_error(api.post(f"/api/v1/tasks/{finished.id}/cancel"), 409)["message"]
    assert (
        "has no narration"
        in assert_error(
            api.post(
                f"/api/v1/shots/{ShotFactory(project=project, narration='').id}/generate",
                {"stage": "speech"},
                format="json",
            ),
            400,
            "stage",
        )["fields"]["stage"]
    )


@pytest.mark.django_db
def test_characters_are_created_listed_and_linked_to_shots(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user)
    shot = ShotFactory(project=project)
    made = api.post(
        f"/api/v1/projects/{project.id}/characters", {"name": "Pip", "description": "a grey cat"}, format="json"
    )
    assert made.status_code == 201, made.content
    assert isinstance(made.json()["seed"], int)
    assert_error(api.post(f"/api/v1/projects/{project.id}/characters", {"name": "Pip"}, format="json"), 400, "name")
    linked = api.patch(f"/api/v1/shots/{shot.id}", {"characterIds": [made.json()["id"]]}, format="json")
    assert linked.json()["characterIds"] == [made.json()["id"]]
    assert api.get(f"/api/v1/characters/{made.json()['id']}").json()["shotIds"] == [str(shot.id)]
    assert len(api.get(f"/api/v1/projects/{project.id}/characters").json()) == 1


@pytest.mark.django_db
def test_project_list_is_paginated_and_scoped(api: APIClient, user: Any) -> None:
    ProjectFactory.create_batch(25, owner=user)
    ProjectFactory.create_batch(3)
    page = api.get("/api/v1/projects").json()
    assert page["count"] == 25
    assert len(page["results"]) == 20
    assert len(api.get(page["next"]).json()["results"]) == 5


@pytest.mark.django_db
def test_project_update_and_delete(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user)
    ShotFactory(project=project)
    updated = api.patch(f"/api/v1/projects/{project.id}", {"title": "New", "autoRender": True}, format="json")
    assert updated.status_code == 200
    assert (updated.json()["title"], updated.json()["autoRender"]) == ("New", True)
    assert_error(api.patch(f"/api/v1/projects/{project.id}", {"resolution": "4k"}, format="json"), 400, "resolution")
    assert api.delete(f"/api/v1/projects/{project.id}").status_code == 204
    assert not Project.objects.filter(id=project.id).exists()


@pytest.mark.django_db
def test_first_draft_routes_answer_as_aliases(api: APIClient, user: Any) -> None:
    created = api.post("/api/projects/create", {"story": "The cat slept. The lamp shone."}, format="json")
    assert created.status_code == 202
    pid = created.json()["project"]["id"]
    assert api.get(f"/api/projects/{pid}/storyboard").status_code == 200
    shot = ShotFactory(project=Project.objects.get(id=pid))
    prompt = api.post(f"/api/shots/{shot.id}/update_prompt", {"prompt": "a sleeping cat"}, format="json")
    assert prompt.json()["prompt"] == "a sleeping cat"
    image = api.post(f"/api/shots/{shot.id}/generate_image")
    assert image.status_code == 202 and image.json()["kind"] == "image"
    video = api.post(f"/api/shots/{shot.id}/generate_video")
    assert video.status_code == 202 and video.json()["kind"] == "motion"
    status = api.get(f"/api/tasks/{video.json()['id']}/status")
    assert status.json()["status"] in {"blocked", "pending"}
    assert Task.objects.filter(shot=shot, kind="motion").count() == 1


@pytest.mark.django_db
def test_health_reports_database_and_redis_up() -> None:
    response = CommittingAPIClient().get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] and body["redis"]["ok"]


@pytest.mark.django_db
def test_system_lists_queues_and_backends(api: APIClient) -> None:
    body = api.get("/api/v1/system").json()
    assert set(body["queues"]) == {"inference", "language", "media"}
    draft = [b for b in body["backends"] if b["backend"] == "draft"]
    assert draft and all(b["available"] for b in draft)


@pytest.mark.django_db
def test_models_lists_each_stages_back_ends_what_they_need_and_whether_they_run_here(
    api: APIClient, settings: Any
) -> None:
    settings.STORYBOARD_MODEL = "openai:http://10.1.2.3:11434/v1#qwen2.5"
    stages = {entry["stage"]: entry for entry in api.get("/api/v1/models").json()["stages"]}
    assert set(stages) == {"storyboard", "image", "motion", "speech", "likeness"}
    image = stages["image"]
    assert [c["stage"] for c in image["configured"]] == ["image", "image.quality"]
    diffusers = next(b for b in image["backends"] if b["backend"] == "diffusers")
    assert diffusers["needs"] == {
        "packages": ["torch", "diffusers", "transformers"],
        "program": "",
        "model": True,
        "weights": True,
    }
    draft = next(b for b in image["backends"] if b["backend"] == "draft")
    assert draft["available"] and draft["needs"]["weights"] is False
    espeak = next(b for b in stages["speech"]["backends"] if b["backend"] == "espeak")
    assert espeak["needs"]["program"] == "espeak-ng"
    assert {c["stage"] for c in stages["speech"]["configured"]} == {"speech.en", "speech.zh"}
    (storyboard,) = stages["storyboard"]["configured"]
    assert storyboard["spec"] == "openai:qwen2.5", "a model server's address is for staff"


@pytest.mark.django_db
def test_schema_and_docs_are_served(api: APIClient) -> None:
    schema = api.get("/api/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/projects" in schema.json()["paths"]
    assert api.get("/api/v1/docs").status_code == 200


@pytest.mark.django_db
def test_trailing_slashes_reach_the_same_routes(api: APIClient) -> None:
    assert api.get("/api/v1/projects/").status_code == 200
    assert api.post("/api/v1/projects/", {"story": "A tale."}, format="json").status_code == 202


@pytest.mark.django_db
def test_a_storyboard_re_read_with_its_etag_answers_304_until_something_changes(
    api: APIClient, other_api: APIClient, user: Any
) -> None:
    from tasks import services as task_services

    project = ProjectFactory(owner=user)
    shot, other = ShotFactory(project=project, order=0), ShotFactory(project=project, order=1)
    for _ in range(3):  # a history: only the newest of a shot's kind is read
        task = task_services.task_create(kind="image", project=project, shot=shot, params={"version": 1})
    url = f"/api/v1/projects/{project.id}/storyboard"
    first = api.get(url)
    assert first.status_code == 200 and first["ETag"]
    assert [t["id"] for t in first.json()["tasks"]] == [str(task.id)]
    again = api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == first["ETag"]
    assert other_api.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 404

    changes = [
        lambda: api.patch(f"/api/v1/shots/{shot.id}", {"narration": "A new line."}, format="json"),
        lambda: api.post(
            f"/api/v1/projects/{project.id}/shots/reorder", {"shotIds": [str(other.id), str(shot.id)]}, format="json"
        ),
        lambda: Task.objects.filter(pk=task.pk).update(progress=50, updated_at=timezone.now()),
        lambda: api.patch(f"/api/v1/projects/{project.id}", {"title": "Another title"}, format="json"),
        lambda: CharacterFactory(project=project),
        lambda: Shot.objects.filter(pk=shot.pk).delete(),
    ]
    tag = first["ETag"]
    for change in changes:
        change()
        response = api.get(url, HTTP_IF_NONE_MATCH=tag)
        assert response.status_code == 200, change
        assert response["ETag"] != tag
        tag = response["ETag"]


@pytest.mark.django_db(transaction=True)
def test_a_project_is_duplicated_by_its_owner_only(api: APIClient, other_api: APIClient, rendered: Any) -> None:
    assert other_api.post(f"/api/v1/projects/{rendered.id}/duplicate").status_code == 404
    response = api.post(f"/api/v1/projects/{rendered.id}/duplicate")
    assert response.status_code == 201, response.content
    copy = response.json()
    assert copy["id"] != str(rendered.id) and copy["title"] == "The Keeper's Cat (copy)"
    assert copy["status"] == "rendered" and copy["render"]["videoUrl"]
    storyboard = api.get(f"/api/v1/projects/{copy['id']}/storyboard").json()
    assert [s["narration"] for s in storyboard["shots"]] == [s.narration for s in rendered.shots.order_by("order")]
