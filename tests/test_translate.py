"""Issue 13, section 4: a film translated into another language through the ``openai`` back end
against a chat server on loopback: a new project with the pictures reused, the narration
translated and spoken again, bilingual subtitles as a setting; the film it came from untouched,
and a failed translation makes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from projects.models import Project
from shots.models import Shot
from tasks.jobs import run_task
from tasks.models import Task
from tests.chat_server import ChatServer
from tests.test_versions import run_all
from tests.workers import run_in_thread

pytestmark = pytest.mark.django_db

CHINESE = {"title": "守塔人的猫", "narrations": ["阿达爬上了螺旋楼梯。", "皮普跟在后面，数着台阶。"]}


@pytest.fixture
def model(chat: ChatServer, settings: Any) -> ChatServer:
    settings.STORYBOARD_MODEL = f"openai:{chat.url}#qwen2.5"
    return chat


def translate(api: APIClient, project: Project, language: str = "zh") -> Task:
    response = api.post(f"/api/v1/projects/{project.id}/translate", {"language": language}, format="json")
    assert response.status_code == 202, response.content
    task = Task.objects.get(pk=response.json()["id"])
    run_task(str(task.id))
    task.refresh_from_db()
    return task


def test_a_film_is_translated_into_a_new_project_with_its_pictures_and_new_voices(
    api: APIClient, rendered: Project, model: ChatServer
) -> None:
    model.replies.append((200, json.dumps(CHINESE)))
    original = [(s.narration, s.image_hash, s.speech_hash) for s in rendered.shots.order_by("order")]
    task = translate(api, rendered)
    assert task.status == "finished", task.message
    copy = Project.objects.get(pk=task.result["projectId"])
    assert (copy.language, copy.title, copy.render_video.name) == ("zh", "守塔人的猫", "")
    shots = list(copy.shots.order_by("order"))
    assert [s.narration for s in shots] == CHINESE["narrations"]
    assert [s.original_narration for s in shots] == [n for n, _, _ in original]
    assert [s.image_hash for s in shots] == [h for _, h, _ in original], "the pictures are reused"
    assert not any(s.speech_file for s in shots), "no line in the old language under the new words"
    sent = model.requests[0]["body"]["messages"]
    assert "from English into Chinese" in sent[0]["content"] and original[0][0] in sent[1]["content"]
    # The film it came from is untouched.
    assert [(s.narration, s.image_hash, s.speech_hash) for s in rendered.shots.order_by("order")] == original

    assert api.patch(f"/api/v1/projects/{copy.id}", {"bilingualSubtitles": True}, format="json").status_code == 200
    ran = run_all(copy)
    assert {t.kind for t in ran} - {"clips"} == {"speech", "compose"} and all(t.status == "finished" for t in ran)
    copy.refresh_from_db()
    assert all(s.speech_file for s in copy.shots.all())
    srt = copy.render_srt.read().decode()
    assert "阿达爬上了螺旋楼梯。\nAda climbed the spiral stairs." in srt, srt


def test_a_translation_with_the_wrong_lines_makes_nothing(api: APIClient, rendered: Project, model: ChatServer) -> None:
    model.replies += [
        (200, json.dumps({"title": "x", "narrations": ["只有一行。"]})),
        (200, json.dumps({"title": "x", "narrations": ["第一行。", ""]})),
    ]
    task = translate(api, rendered)
    assert task.status == "failed"
    assert "1 narration lines for 2" in task.message and "leaves a narration line empty" in task.message
    assert Project.objects.count() == 1


def test_an_edit_while_translating_makes_nothing(api: APIClient, rendered: Project, model: ChatServer) -> None:
    def edit() -> None:
        Shot.objects.filter(project=rendered, order=0).update(narration="Ada ran.")
        connection.close()  # this runs in the chat server's thread

    model.replies.append((200, json.dumps(CHINESE)))
    model.meanwhile = edit
    task = translate(api, rendered)
    assert task.status == "failed" and "edited while it was being translated" in task.message
    assert Project.objects.count() == 1 and rendered.shots.get(order=0).narration == "Ada ran."


def test_bad_requests_are_refused(api: APIClient, other_api: APIClient, rendered: Project, settings: Any) -> None:
    url = f"/api/v1/projects/{rendered.id}/translate"
    settings.STORYBOARD_MODEL = "openai:http://127.0.0.1:9/v1#m"
    assert api.post(url, {"language": "en"}, format="json").status_code == 400  # already English
    assert api.post(url, {"language": "fr"}, format="json").status_code == 400
    assert other_api.post(url, {"language": "zh"}, format="json").status_code == 404
    settings.STORYBOARD_MODEL = "draft"
    refused = api.post(url, {"language": "zh"}, format="json")
    assert (
        refused.status_code == 409 and "cannot follow an instruction or translate" in refused.json()["error"]["message"]
    )
    assert not rendered.tasks.filter(kind="translate").exists()


@pytest.mark.browser
def test_the_editor_translates_the_film_and_links_the_new_project(
    page: Any, server: str, rendered: Project, model: ChatServer
) -> None:
    from tests.browser import sign_in

    model.replies.append((200, json.dumps(CHINESE)))
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    page.locator(".shot").first.wait_for()
    page.locator("#settings summary").click()
    assert page.locator("#translate-language").input_value() == "zh", "only the other language is offered"
    with page.expect_response(lambda r: r.url.endswith("/translate")) as answer:
        page.click("#translate")
    assert answer.value.status == 202
    task_id = answer.value.json()["id"]  # Playwright's objects stay in this thread

    run_in_thread(task_id)
    link = page.locator("#translated")
    link.wait_for()
    copy = Project.objects.exclude(pk=rendered.pk).get()
    assert link.get_attribute("href") == f"/projects/{copy.id}/"
    assert page.locator("#translate-state").inner_text().startswith("Translated into 中文: “守塔人的猫”")


def test_a_translation_cut_short_goes_on_from_the_lines_already_translated(
    api: APIClient, rendered: Project, model: ChatServer, settings: Any
) -> None:
    """Issue 26: a translation that timed out started again from its first line. The lines are
    asked for TRANSLATE_LINES_AT_ONCE at a time and each group kept with the task: the next
    attempt asks only for what is left."""
    settings.TRANSLATE_LINES_AT_ONCE = 1
    original = list(rendered.shots.order_by("order").values_list("narration", flat=True))
    model.replies += [
        (200, json.dumps({"title": CHINESE["title"], "narrations": CHINESE["narrations"][:1]})),
        (503, json.dumps({"error": "busy"})),  # the server goes away before the second line
    ]
    task = translate(api, rendered)
    assert task.status == "pending" and task.attempt == 1, task.message  # to be tried again
    assert task.kept["narrations"] == CHINESE["narrations"][:1] and task.kept["title"] == CHINESE["title"]
    model.replies.append((200, json.dumps({"title": "", "narrations": CHINESE["narrations"][1:]})))
    Task.objects.filter(pk=task.pk).update(run_after=None)  # not waiting out the backoff
    run_task(str(task.id))
    task.refresh_from_db()
    assert task.status == "finished" and task.attempt == 2, task.message
    asked = [json.loads(r["body"]["messages"][1]["content"]) for r in model.requests]
    assert asked == [
        {"title": rendered.title, "narrations": original[:1]},
        {"title": "", "narrations": original[1:]},
        {"title": "", "narrations": original[1:]},  # the second attempt: the second line only
    ]
    copy = Project.objects.get(pk=task.result["projectId"])
    assert copy.title == CHINESE["title"]
    assert [s.narration for s in copy.shots.order_by("order")] == CHINESE["narrations"]

    # A group kept for other lines (the narration edited since) is not used: all is asked again.
    Task.objects.filter(pk=task.pk).update(status="pending", result=None, attempt=0)
    rendered.shots.filter(order=0).update(narration="Ada climbed slowly.")
    model.requests.clear()
    model.replies += [
        (200, json.dumps({"title": CHINESE["title"], "narrations": ["阿达慢慢地爬。"]})),
        (200, json.dumps({"title": "", "narrations": CHINESE["narrations"][1:]})),
    ]
    run_task(str(task.id))
    task.refresh_from_db()
    assert task.status == "finished", task.message
    assert [json.loads(r["body"]["messages"][1]["content"])["narrations"] for r in model.requests] == [
        ["Ada climbed slowly."],
        original[1:],
    ]
