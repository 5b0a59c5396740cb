"""Issue 13, sections 2 and 4: the whole storyboard rewritten by the language model on an
instruction ("fewer shots, more suspense") through the ``openai`` back end against a chat
server on loopback: locked shots survive, shots still there keep their media, the storyboard
before is kept and can be restored, and a bad answer changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from inference.refine import BoardShot, RewriteJob, parse_rewrite
from projects.models import Project, StoryboardSnapshot, Turn
from shots.models import Shot
from tasks.jobs import run_task
from tasks.models import Task
from tests.browser import shot_menu, sign_in
from tests.chat_server import ChatServer
from tests.factories import shot_with_media
from tests.test_versions import run_all
from tests.workers import run_in_thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(chat: ChatServer, settings: Any) -> ChatServer:
    settings.STORYBOARD_MODEL = f"openai:{chat.url}#qwen2.5"
    return chat


@pytest.fixture
def three(rendered: Project, tmp_path: Path) -> Project:
    """The rendered two-shot film with a third shot, all with media."""
    shot_with_media(rendered, 2, "The lamp lit the sea.", tmp_path)
    return rendered


def answer(chat: ChatServer, shots: list[dict[str, Any]]) -> None:
    chat.replies.append((200, json.dumps({"shots": shots})))


def rewrite(api: APIClient, project: Project, instruction: str) -> Task:
    response = api.post(f"/api/v1/projects/{project.id}/storyboard/refine", {"instruction": instruction}, format="json")
    assert response.status_code == 202, response.content
    task = Task.objects.get(pk=response.json()["id"])
    run_task(str(task.id))
    task.refresh_from_db()
    return task


def board(project: Project) -> list[tuple[str, str]]:
    return [(shot.prompt, shot.narration) for shot in project.shots.order_by("order")]


def test_fewer_shots_keeps_the_locked_one_and_the_media_of_those_still_there(
    api: APIClient, three: Project, model: ChatServer
) -> None:
    first, second, third = three.shots.order_by("order")
    assert api.patch(f"/api/v1/shots/{second.id}", {"locked": True}, format="json").status_code == 200
    assert not three.tasks.filter(status__in=Task.UNFINISHED).exists(), "a lock changes nothing else"
    before = board(three)
    # The model merges shots 1 and 3, drops the locked shot 2, and rewrites it: the lock wins.
    answer(
        model,
        [
            {"id": "s1", "prompt": "scene 0", "narration": "Ada climbed the spiral stairs. The lamp lit the sea."},
            {"id": "s3", "prompt": "a dark sea under the lamp", "narration": "", "camera": "static"},
        ],
    )
    task = rewrite(api, three, "fewer shots, more suspense")
    assert task.status == "finished", task.message
    assert task.message.startswith("Rewrote the storyboard: 3 shots became 3 (3 kept, 0 new, 0 removed).")
    shots = list(three.shots.order_by("order"))
    assert [s.id for s in shots] == [first.id, second.id, third.id], "the locked shot is back where it was"
    assert (shots[1].prompt, shots[1].narration) == before[1]
    assert shots[0].image_hash == first.image_hash, "same prompt: the same picture"
    assert shots[0].narration.endswith("The lamp lit the sea.") and shots[2].prompt == "a dark sea under the lamp"
    pending = set(three.tasks.filter(status__in=Task.UNFINISHED).values_list("kind", "shot__order"))
    assert pending == {("speech", 0), ("image", 2), ("compose", None)}, "only what changed is made again"

    # The storyboard before is kept; restoring brings it back with its media (and keeps this one).
    [snapshot] = api.get(f"/api/v1/projects/{three.id}/storyboard/snapshots").json()
    assert snapshot["shots"] == 3 and "fewer shots, more suspense" in snapshot["reason"]
    response = api.post(f"/api/v1/projects/{three.id}/storyboard/snapshots/{snapshot['id']}/restore")
    assert response.status_code == 200, response.content
    assert board(three) == before
    restored = list(three.shots.order_by("order"))
    assert [s.image_hash for s in restored] == [first.image_hash, second.image_hash, third.image_hash]
    assert restored[1].locked and all(default_storage.exists(s.image_file.name) for s in restored)
    assert not three.tasks.filter(status__in=Task.UNFINISHED).exclude(kind="compose").exists(), "nothing redrawn"
    assert len(api.get(f"/api/v1/projects/{three.id}/storyboard/snapshots").json()) == 2
    [turn] = Turn.objects.filter(shot__isnull=True)
    assert turn.instruction == "fewer shots, more suspense" and turn.changed == ["storyboard"]


def test_new_and_removed_shots_and_the_next_instruction_builds_on_the_last(
    api: APIClient, rendered: Project, model: ChatServer
) -> None:
    first, second = rendered.shots.order_by("order")
    answer(
        model,
        [
            {"prompt": "storm clouds gather", "narration": "A storm was coming."},
            {"id": "s2", "prompt": "scene 1", "narration": second.narration},
        ],
    )
    task = rewrite(api, rendered, "open with the storm")
    assert task.status == "finished", task.message
    shots = list(rendered.shots.order_by("order"))
    assert shots[0].prompt == "storm clouds gather" and shots[1].id == second.id
    assert not Shot.objects.filter(pk=first.pk).exists(), "the shot no plan names is gone"
    assert "1 kept, 1 new, 1 removed" in task.message
    assert "leaves out some of the story's sentences" in task.message, "Ada's line is gone, and it says so"
    run_all(rendered)
    answer(model, [{"id": "s1", "prompt": "storm clouds gather", "narration": "A storm was coming."}])
    assert rewrite(api, rendered, "now only the storm").status == "finished"
    sent = model.requests[1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert "open with the storm" in sent[1]["content"] and "storm clouds gather" in sent[2]["content"]


def test_a_bad_answer_or_an_edit_meanwhile_changes_nothing(
    api: APIClient, rendered: Project, model: ChatServer
) -> None:
    before = board(rendered)
    model.replies += [(200, "I'd cut it to one shot."), (200, '{"shots": []}')]
    task = rewrite(api, rendered, "one shot")
    assert task.status == "failed" and "gave no usable answer in 2 attempts" in task.message
    assert board(rendered) == before and not StoryboardSnapshot.objects.exists()

    answer(model, [{"id": "s1", "prompt": "x", "narration": "y"}])
    response = api.post(f"/api/v1/projects/{rendered.id}/storyboard/refine", {"instruction": "x"}, format="json")
    shot = rendered.shots.get(order=0)
    assert api.patch(f"/api/v1/shots/{shot.id}", {"camera": "static"}, format="json").status_code == 200
    task = Task.objects.get(pk=response.json()["id"])
    run_task(str(task.id))
    task.refresh_from_db()
    assert task.status == "failed" and "storyboard was edited after the instruction" in task.message
    assert board(rendered) == before


def test_a_hostile_answer_cannot_name_another_shot_or_character(api: APIClient, user: Any) -> None:
    shots = [BoardShot(f"s{i}", f"p{i}", f"n{i}.", "zoom_in", "cut", [], "", locked=i == 2) for i in (1, 2, 3)]
    job = RewriteJob(story="n1. n2. n3.", shots=shots, characters=["Ada"], instruction="x", language="en")
    hostile = {
        "shots": [
            {"id": "s2", "prompt": "overwrite the locked one", "narration": "n2."},
            {"id": "s1", "prompt": "<img src=x onerror=alert(1)>\n\x00", "narration": "n1.", "speaker": "Eve"},
            {"id": "s1", "prompt": "the same id twice", "narration": "", "characters": ["Ada", "../etc"]},
            {"id": "4f2c-other-project", "prompt": "someone else's shot", "narration": "n3."},
        ]
    }
    rewritten = parse_rewrite(json.dumps(hostile), job, backend="openai", model="m")
    plans = rewritten.shots
    assert [p.ref for p in plans] == ["s2", "s1", "", ""]
    assert (plans[0].prompt, plans[0].narration) == ("p2", "n2."), "the locked shot as it was"
    assert plans[1].prompt == "<img src=x onerror=alert(1)>" and plans[1].speaker == ""
    assert plans[2].characters == ["Ada"]


def test_the_draft_back_end_and_bad_requests_are_refused(
    api: APIClient, other_api: APIClient, rendered: Project, settings: Any
) -> None:
    url = f"/api/v1/projects/{rendered.id}/storyboard/refine"
    settings.STORYBOARD_MODEL = "draft"
    refused = api.post(url, {"instruction": "fewer shots"}, format="json")
    assert refused.status_code == 409 and "cannot follow an instruction" in refused.json()["error"]["message"]
    settings.STORYBOARD_MODEL = "openai:http://127.0.0.1:9/v1#m"
    assert api.post(url, {"instruction": ""}, format="json").status_code == 400
    assert other_api.post(url, {"instruction": "x"}, format="json").status_code == 404
    assert other_api.get(f"/api/v1/projects/{rendered.id}/storyboard/snapshots").status_code == 404
    missing = api.post(f"/api/v1/projects/{rendered.id}/storyboard/snapshots/{rendered.id}/restore")
    assert missing.status_code == 404
    assert not rendered.tasks.filter(kind="refine").exists()


def test_old_storyboards_are_pruned_and_release_their_files(
    api: APIClient, rendered: Project, settings: Any, tmp_path: Path
) -> None:
    from projects.storyboards import storyboard_snapshot

    settings.STORYBOARD_SNAPSHOTS_KEPT = 1
    shot = rendered.shots.get(order=0)
    old = shot.image_file.name
    storyboard_snapshot(project=rendered, reason="one")
    assert api.delete(f"/api/v1/shots/{shot.id}").status_code == 204
    assert default_storage.exists(old), "the snapshot still names it"
    storyboard_snapshot(project=rendered, reason="two")
    assert not default_storage.exists(old), "pruned with the only snapshot that named it"
    assert list(StoryboardSnapshot.objects.values_list("reason", flat=True)) == ["two"]


@pytest.mark.browser
def test_the_editor_rewrites_the_storyboard_and_brings_the_old_one_back(
    page: Any, server: str, rendered: Project, model: ChatServer
) -> None:
    before = board(rendered)
    answer(model, [{"id": "s1", "prompt": "one long shot", "narration": before[0][1]}])
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    cards = page.locator(".shot")
    cards.nth(1).wait_for()
    with page.expect_response(lambda r: r.request.method == "PATCH") as locked:
        shot_menu(cards.nth(1)).locator(".lock").check()
    assert locked.value.status == 200 and Shot.objects.get(project=rendered, order=1).locked
    page.locator("#rewrite summary").click()
    page.fill("#board-instruction", "one shot, and keep the locked one")
    with page.expect_response(lambda r: r.url.endswith("/storyboard/refine")) as answered:
        page.click("#board-rewrite")
    assert answered.value.status == 202
    run_in_thread(answered.value.json()["id"])
    page.wait_for_function("() => document.querySelector('.shot .prompt').value === 'one long shot'", timeout=30_000)
    assert cards.count() == 2 and cards.nth(1).locator(".prompt").input_value() == before[1][0]
    assert page.locator("#board-state").inner_text().startswith("Rewrote the storyboard: 2 shots became 2")
    page.locator("#snapshots li").first.wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: r.url.endswith("/restore")) as restored:
        page.locator("#snapshots .restore-board").first.click()
    assert restored.value.status == 200
    page.wait_for_function(
        "prompt => document.querySelector('.shot .prompt').value === prompt", arg=before[0][0], timeout=30_000
    )
    assert board(rendered) == before
    page.locator("#snapshots li").nth(1).wait_for()  # the rewritten one is kept too
