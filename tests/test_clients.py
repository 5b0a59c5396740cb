"""The clients the design documents were written for, each calling as its document has it: the
"StoryToVideo standard" (query parameters, its example values verbatim), the first draft's
routes, the production chain's REST conventions (media-type versioning, list filters, task
deletion and batches, sign-up), a browser on another origin, and the README's own examples."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import TestCase, override_settings
from rest_framework.test import APIClient

from accounts.tokens import token_create
from inference.image import keyframe_prompt
from inference.styles import STYLES, style_key
from inference.types import ShotPlan, Storyboard
from projects.models import Project
from projects.storyboards import storyboard_apply
from shots.models import Shot
from tasks.models import Task
from tests.clients import CommittingAPIClient
from tests.factories import ProjectFactory, ShotFactory, UserFactory
from tests.test_api import assert_error
from tests.test_standard_contract import token_client

pytestmark = pytest.mark.django_db
STORY = "Ada climbed the lighthouse stairs. Pip the cat followed her. The lamp was cold. Together they lit it."


# --- 1. The standard's own example --------------------------------------------------------------


def test_the_standards_own_example_makes_a_cinematic_project_with_its_shot_tasks() -> None:
    client = token_client(UserFactory())
    # POST /v1/api/projects?Title=demo&StoryText=…&Style=电影&ShotCount=4, a story in place of "…".
    created = client.post(f"/v1/api/projects?Title=demo&StoryText={STORY}&Style=电影&ShotCount=4")
    assert created.status_code == 202, created.content
    body = created.json()
    project = client.get(f"/v1/api/projects/{body['project_id']}").json()
    assert (project["title"], project["style"], project["stylePreset"]) == ("demo", "cinematic", "cinematic")
    assert project["stylePrompt"] == STYLES["cinematic"].prompt
    # 2. Its shot tasks up front: one picture task per shot asked for, blocked on the text task.
    assert len(body["shot_task_ids"]) == 4
    for task_id in body["shot_task_ids"]:
        task = client.get(f"/v1/api/tasks/{task_id}").json()["task"]
        assert (task["type"], task["status"], task["parentIds"]) == ("shot", "blocked", [body["text_task_id"]])
    assert client.get(f"/v1/api/tasks/{body['text_task_id']}").json()["task"]["type"] == "text"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("电影", "cinematic"),
        ("电影感", "cinematic"),
        ("动漫", "anime"),
        ("动画", "anime"),
        ("水彩", "watercolor"),
        ("写实", "photo"),
        ("赛博朋克", "cyberpunk"),
        ("油画", "oil"),
        ("国风", "guofeng"),
        ("像素", "pixel"),
        ("Cinematic", "cinematic"),
        (" watercolour ", "watercolor"),
        ("Pixel Art", "pixel"),
    ],
)
def test_a_chinese_clients_style_names_are_the_presets(name: str, key: str) -> None:
    assert style_key(name) == key
    client = token_client(UserFactory())
    created = client.post(f"/v1/api/projects?{urlencode({'StoryText': STORY, 'Style': name})}")
    assert created.status_code == 202, created.content
    assert Project.objects.get(pk=created.json()["project_id"]).style == key


def test_a_style_that_names_no_preset_is_its_own_words_in_every_picture_prompt() -> None:
    client = token_client(UserFactory())
    created = client.post("/api/v1/projects", {"story": STORY, "style": "蒸汽朋克  铜管与齿轮"}, format="json")
    assert created.status_code == 202, created.content
    project = created.json()["project"]
    # The project says so: no preset, and the words that go into every picture prompt.
    assert (project["style"], project["stylePreset"], project["stylePrompt"]) == (
        "蒸汽朋克 铜管与齿轮",
        None,
        "蒸汽朋克 铜管与齿轮",
    )
    positive, _ = keyframe_prompt("a lighthouse at dusk", style=project["style"], characters=[])
    assert positive == "a lighthouse at dusk, 蒸汽朋克 铜管与齿轮"
    too_long = client.post("/api/v1/projects", {"story": STORY, "style": "x" * 101}, format="json")
    assert_error(too_long, 400, "style")
    blank = client.post("/api/v1/projects", {"story": STORY, "style": "   "}, format="json")
    assert_error(blank, 400, "style")


# --- 2. Shot tasks up front: the storyboard's shots take them in order ----------------------------


def _storyboard_lands(project_id: str, shots: int) -> Task:
    """The project's storyboard task, run by hand as a worker would, lands with ``shots`` shots."""
    text = Task.objects.get(project_id=project_id, kind="storyboard")
    Task.objects.filter(pk=text.pk).update(status=Task.Status.PROCESSING, attempt=1)
    text.refresh_from_db()
    plans = [ShotPlan(prompt=f"shot {n}", narration=f"Line {n}.") for n in range(shots)]
    board = Storyboard(title="", characters=[], shots=plans, backend="draft")
    with TestCase.captureOnCommitCallbacks(execute=True):
        storyboard_apply(text, board)
    return text


@pytest.mark.parametrize(("asked", "made"), [(4, 4), (4, 2), (2, 5)])
def test_the_shot_tasks_made_up_front_take_the_storyboards_shots_in_order(asked: int, made: int) -> None:
    client = token_client(UserFactory())
    created = client.post(f"/v1/api/projects?{urlencode({'StoryText': STORY, 'ShotCount': asked})}").json()
    _storyboard_lands(created["project_id"], made)
    shots = list(Shot.objects.filter(project_id=created["project_id"]).order_by("order"))
    upfront = [Task.objects.get(pk=task_id) for task_id in created["shot_task_ids"]]
    # The first tasks are the first shots' pictures, queued now; extra tasks are cancelled.
    for task, shot in zip(upfront, shots, strict=False):
        assert (task.shot_id, task.status, task.params["version"]) == (shot.pk, "pending", shot.image_version)
    for task in upfront[len(shots) :]:
        assert task.status == "cancelled" and f"has {made} shot(s)" in task.message
    # Every shot has exactly one picture task; those beyond the tasks made up front got new ones.
    for shot in shots:
        assert Task.objects.filter(shot=shot, kind="image").count() == 1
    body = client.get(f"/v1/api/tasks/{upfront[0].pk}").json()["task"]
    assert (body["shotId"], body["status"]) == (str(shots[0].pk), "pending")


def test_shot_tasks_are_made_up_front_only_when_shot_count_is_given() -> None:
    client = token_client(UserFactory())
    created = client.post(f"/v1/api/projects?{urlencode({'StoryText': STORY})}").json()
    assert created["shot_task_ids"] == []
    v1 = client.post("/api/v1/projects", {"story": STORY, "shotCount": 3}, format="json").json()
    assert [task["kind"] for task in v1["tasks"]] == ["storyboard"]


def test_a_failed_storyboard_cancels_the_shot_tasks_made_up_front() -> None:
    client = token_client(UserFactory())
    created = client.post(f"/v1/api/projects?{urlencode({'StoryText': STORY, 'ShotCount': 3})}").json()
    assert client.post(f"/api/v1/tasks/{created['text_task_id']}/cancel").status_code == 200
    statuses = {client.get(f"/v1/api/tasks/{task_id}").json()["task"]["status"] for task_id in created["shot_task_ids"]}
    assert statuses == {"cancelled"}


# --- 3. The first draft's update_prompt takes the narration -------------------------------------


def test_update_prompt_takes_the_narration_as_well_as_the_prompt() -> None:
    user = UserFactory()
    shot = ShotFactory(project=ProjectFactory(owner=user), prompt="a cat", narration="Once.")
    client = token_client(user)
    answer = client.post(f"/api/shots/{shot.id}/update_prompt", {"narration": "旁白：猫睡着了。"}, format="json")
    assert answer.status_code == 200, answer.content
    assert (answer.json()["prompt"], answer.json()["narration"]) == ("a cat", "旁白：猫睡着了。")
    both = client.post(f"/api/shots/{shot.id}/update_prompt", {"prompt": "a dog", "narration": "Twice."}, format="json")
    assert (both.json()["prompt"], both.json()["narration"]) == ("a dog", "Twice.")
    assert_error(client.post(f"/api/shots/{shot.id}/update_prompt", {}, format="json"), 400)
    assert_error(
        client.post(f"/api/shots/{shot.id}/update_prompt", {"camera": "zoom_in"}, format="json"), 400, "camera"
    )


# --- 4. The production chain's conventions ------------------------------------------------------


def test_the_version_can_be_asked_for_by_media_type() -> None:
    user = UserFactory()
    ProjectFactory(owner=user)
    client = token_client(user)
    answer = client.get("/api/v1/projects", HTTP_ACCEPT="application/vnd.api.v1+json")
    assert answer.status_code == 200, answer.content
    assert answer["Content-Type"] == "application/vnd.api.v1+json"
    assert answer.json()["count"] == 1
    created = client.generic(
        "POST",
        "/api/v1/projects",
        data=b'{"story": "A cat slept in the sun."}',
        content_type="application/vnd.api.v1+json",
        HTTP_ACCEPT="application/vnd.api.v1+json",
    )
    assert created.status_code == 202, created.content
    unknown = client.get("/api/v1/projects", HTTP_ACCEPT="application/vnd.api.v2+json")
    assert unknown.status_code == 406
    assert client.get("/api/v1/projects", HTTP_ACCEPT="application/json")["Content-Type"] == "application/json"


def test_the_project_list_filters_by_status_and_searches_title_story_and_description() -> None:
    user = UserFactory()
    lighthouse = ProjectFactory(owner=user, title="The Lighthouse", story="Ada lit the lamp.", status="rendered")
    ProjectFactory(owner=user, title="Rain", story="It rained on the town.", status="ready")
    chinese = ProjectFactory(owner=user, title="灯塔", story="小猫在灯塔上睡觉。", status="ready")
    described = ProjectFactory(owner=user, title="Untitled", story="Waves.", description="a film about lighthouses")
    ProjectFactory(title="The Lamp", story="Another's lighthouse.")  # not theirs: never found
    client = token_client(user)

    def titles(query: str) -> list[str]:
        answer = client.get(f"/api/v1/projects?{query}")
        assert answer.status_code == 200, answer.content
        return [project["title"] for project in answer.json()["results"]]

    assert titles("status=rendered") == [lighthouse.title]
    assert sorted(titles("status=ready")) == sorted(["Rain", str(chinese.title)])
    # Full text: "lighthouse" finds "lighthouses" in a description; a match in the title first.
    assert titles("q=lighthouse") == [lighthouse.title, described.title]
    assert titles(f"q={chinese.story[:4]}") == [chinese.title]  # Chinese: by its characters
    assert titles("q=lighthouse&status=rendered") == [lighthouse.title]
    assert titles("q=submarine") == []
    assert_error(client.get("/api/v1/projects?status=finished"), 400, "status")
    assert client.get("/api/v1/projects?q=").json()["count"] == 4


def test_a_project_has_a_description_and_a_progress() -> None:
    client = token_client(UserFactory())
    created = client.post("/api/v1/projects", {"story": STORY, "description": "For my niece."}, format="json")
    project = created.json()["project"]
    assert (project["description"], project["progress"]) == ("For my niece.", 5)  # its storyboard is being written
    changed = client.patch(f"/api/v1/projects/{project['id']}", {"description": ""}, format="json")
    assert changed.json()["description"] == ""
    _storyboard_lands(project["id"], 2)
    generating = client.get(f"/api/v1/projects/{project['id']}").json()
    assert generating["status"] == "generating" and generating["progress"] == 10  # 4 media tasks to go of 4


def test_deleting_a_task_cancels_it_and_hides_it() -> None:
    user = UserFactory()
    project = ProjectFactory(owner=user)
    shot = ShotFactory(project=project)
    client = token_client(user)
    task = client.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "image"}, format="json").json()
    assert client.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    row = Task.objects.get(pk=task["id"])
    assert (row.status, row.hidden) == ("cancelled", True)
    assert client.get(f"/api/v1/tasks/{task['id']}").status_code == 404
    assert task["id"] not in [t["id"] for t in client.get(f"/api/v1/tasks?projectId={project.id}").json()["results"]]
    assert client.delete(f"/api/v1/tasks/{task['id']}").status_code == 404
    # Another user's task is not theirs to delete.
    other = client.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "image"}, format="json").json()
    assert token_client(UserFactory()).delete(f"/api/v1/tasks/{other['id']}").status_code == 404
    assert Task.objects.get(pk=other["id"]).status == "pending"


def test_a_task_batch_asks_one_stage_for_many_shots_all_or_none() -> None:
    user = UserFactory()
    first, second = ProjectFactory(owner=user), ProjectFactory(owner=user)
    shots = [ShotFactory(project=first, order=0), ShotFactory(project=first, order=1), ShotFactory(project=second)]
    silent = ShotFactory(project=second, order=1, narration="")
    strangers = ShotFactory()
    client = token_client(user)

    made = client.post(
        "/api/v1/tasks/batch", {"stage": "image", "shotIds": [str(s.id) for s in reversed(shots)]}, format="json"
    )
    assert made.status_code == 202, made.content
    assert [task["shotId"] for task in made.json()] == [str(s.id) for s in reversed(shots)]
    assert {task["kind"] for task in made.json()} == {"image"}
    before = Task.objects.count()
    # Any shot that cannot be is named, and nothing is made.
    speech = client.post(
        "/api/v1/tasks/batch", {"stage": "speech", "shotIds": [str(shots[0].id), str(silent.id)]}, format="json"
    )
    assert_error(speech, 400, "shotIds[1]")
    hidden = client.post(
        "/api/v1/tasks/batch", {"stage": "image", "shotIds": [str(shots[0].id), str(strangers.id)]}, format="json"
    )
    assert_error(hidden, 404, "shotIds[1]")
    assert_error(client.post("/api/v1/tasks/batch", {"stage": "image", "shotIds": []}, format="json"), 400, "shotIds")
    twice = {"stage": "image", "shotIds": [str(shots[0].id), str(shots[0].id)]}
    assert_error(client.post("/api/v1/tasks/batch", twice, format="json"), 400, "shotIds")
    assert_error(
        client.post("/api/v1/tasks/batch", {"stage": "paint", "shotIds": [str(shots[0].id)]}, format="json"), 400
    )
    assert Task.objects.count() == before


def test_sign_up_may_carry_an_email_and_a_display_name() -> None:
    client = CommittingAPIClient()
    answer = client.post(
        "/api/v1/auth/signup",
        {"username": "mei2", "password": "a-long-password", "email": "mei@example.com", "displayName": "梅"},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert (answer.json()["displayName"], answer.json()["email"]) == ("梅", "mei@example.com")
    bad = client.post(
        "/api/v1/auth/signup",
        {"username": "mei3", "password": "a-long-password", "email": "not-an-email"},
        format="json",
    )
    assert_error(bad, 400, "email")


# --- 5. Browsers on another origin --------------------------------------------------------------


@override_settings(CORS_ALLOWED_ORIGINS=["https://app.example.com"])
def test_a_listed_origin_may_call_with_a_token_and_never_with_cookies() -> None:
    user = UserFactory()
    client = APIClient()
    preflight = client.options(
        "/api/v1/projects",
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )
    assert preflight.status_code == 200  # answered without credentials
    assert preflight["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "authorization" in preflight["Access-Control-Allow-Headers"]
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in preflight  # cookies are never sent across origins
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_create(user=user)}")
    listed = client.get("/api/v1/projects", HTTP_ORIGIN="https://app.example.com")
    assert listed.status_code == 200 and listed["Access-Control-Allow-Origin"] == "https://app.example.com"
    # An origin not listed gets no permission (its browser refuses the answer), and neither do pages.
    other = APIClient().options(
        "/api/v1/projects", HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET"
    )
    assert "Access-Control-Allow-Origin" not in other
    page = APIClient().get("/accounts/login/", HTTP_ORIGIN="https://app.example.com")
    assert "Access-Control-Allow-Origin" not in page


def test_no_origin_is_allowed_by_default_and_a_bad_one_is_refused_at_start() -> None:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from storyvideo.env import env_origins

    assert settings.CORS_ALLOWED_ORIGINS == []
    assert env_origins("O", environ={"O": "https://a.example, http://localhost:5173"}) == [
        "https://a.example",
        "http://localhost:5173",
    ]
    for bad in ("https://a.example/app", "a.example", "ftp://a.example", "https://user@a.example"):
        with pytest.raises(ImproperlyConfigured, match="not an origin"):
            env_origins("O", environ={"O": bad})


# --- 6. The README's examples as written ---------------------------------------------------------


def test_the_readmes_sharing_example_runs_as_written() -> None:
    client = CommittingAPIClient()
    # The README signs up "mei", then shares with "li": both names must be accepted.
    for username in ("mei", "li"):
        answer = client.post(
            "/api/v1/auth/signup", {"username": username, "password": "a-long-password"}, format="json"
        )
        assert answer.status_code == 201, answer.content
    mei = client.post("/api/v1/auth/signup", {"username": "x", "password": "a-long-password"}, format="json")
    assert_error(mei, 400, "username")  # one character is still too short
    token = client.post("/api/v1/auth/token", {"username": "mei", "password": "a-long-password"}, format="json")
    owner = CommittingAPIClient()
    owner.credentials(HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    project = owner.post("/api/v1/projects", {"story": STORY, "shotCount": 8}, format="json").json()["project"]
    shared = owner.post(
        f"/api/v1/projects/{project['id']}/members", {"username": "li", "role": "viewer"}, format="json"
    )
    assert shared.status_code == 200, shared.content
    assert shared.json()["username"] == "li"


def readme_requests() -> list[tuple[str, str, Any]]:
    """The README's curl examples of ``sh`` blocks, as (method, path and query, JSON body or None)."""
    import json
    import re
    import shlex

    from django.conf import settings

    text = (settings.BASE_DIR / "README.md").read_text()
    made = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            if not line.startswith("curl "):
                continue
            words = shlex.split(line, comments=True)
            url = next(word for word in words if "localhost:8000" in word)
            method = words[words.index("-X") + 1] if "-X" in words else "GET"
            body = json.loads(words[words.index("-d") + 1]) if "-d" in words else None
            made.append((method, url.split("localhost:8000", 1)[1], body))
    return made


def test_the_readmes_project_examples_run_as_written() -> None:
    """Every README example that makes a project (v1, a batch, the standard's), verbatim."""
    client = token_client(UserFactory())
    examples = [
        (method, path, body)
        for method, path, body in readme_requests()
        if method == "POST" and path.split("?")[0] in ("/api/v1/projects", "/api/v1/projects/batch", "/v1/api/projects")
    ]
    assert len(examples) >= 3, examples
    for _method, path, body in examples:
        answer = client.post(path, body, format="json") if body else client.post(path)
        assert answer.status_code == 202, (path, answer.content)
