"""Issue 13, section 4: from an idea to a story. The storyboard's language model (the ``openai``
back end against a chat server on loopback) writes a story into a new project; the person
edits it and asks for its storyboard; a bad answer or the draft back end makes nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from projects.models import Project
from tasks.jobs import run_task
from tasks.models import Task
from tests.browser import sign_in
from tests.chat_server import ChatServer
from tests.workers import run_in_thread

pytestmark = pytest.mark.django_db

STORY = (
    "Every night the keeper climbed the tower. His grey cat climbed with him. One night a boat lost its "
    "way in the fog. The cat saw its lantern and cried until the keeper turned the great lamp. The boat "
    "came home."
)


@pytest.fixture
def model(chat: ChatServer, settings: Any) -> ChatServer:
    settings.STORYBOARD_MODEL = f"openai:{chat.url}#qwen2.5"
    return chat


def draft(api: APIClient, **body: Any) -> Any:
    return api.post("/api/v1/stories/draft", {"language": "en", **body}, format="json")


def run(task_id: str) -> Task:
    run_task(task_id)
    return Task.objects.get(pk=task_id)


@pytest.mark.django_db(transaction=True)  # its work runs as a worker's does, on a connection of its own
def test_an_idea_becomes_a_story_the_person_edits_then_a_storyboard(
    api: APIClient, model: ChatServer, settings: Any
) -> None:
    model.replies.append((200, json.dumps({"title": "The Keeper's Cat", "story": STORY})))
    response = draft(api, idea="a lighthouse cat who saves a boat", genre="fable", length="short")
    assert response.status_code == 202, response.content
    body = response.json()
    project = Project.objects.get(pk=body["project"]["id"])
    assert (body["task"]["kind"], project.story, project.status) == ("story", "", "draft")
    assert project.status_parts == [{"code": "story_waiting", "ahead": 0}]  # no worker has taken it yet
    task = run(body["task"]["id"])
    assert task.status == "finished", task.message
    project.refresh_from_db()
    assert (project.title, project.story, project.status) == ("The Keeper's Cat", STORY, "draft")
    assert project.status_parts == [{"code": "story_ready"}] and not project.shots.exists()
    sent = model.requests[0]["body"]["messages"]
    assert "in English" in sent[0]["content"] and "Genre: fable" in sent[0]["content"]
    assert "a lighthouse cat who saves a boat" in sent[1]["content"]

    edited = STORY.replace("grey cat", "ginger cat")
    assert api.patch(f"/api/v1/projects/{project.id}", {"story": edited}, format="json").status_code == 200
    settings.STORYBOARD_MODEL = "draft"  # the storyboard: any back end; the draft splits sentences
    started = api.post(f"/api/v1/projects/{project.id}/storyboard/start")
    assert started.status_code == 202 and started.json()[0]["kind"] == "storyboard"
    assert run(started.json()[0]["id"]).status == "finished"
    assert "ginger cat" in " ".join(project.shots.values_list("narration", flat=True))
    again = api.post(f"/api/v1/projects/{project.id}/storyboard/start")
    assert again.status_code == 409 and "rewrite it" in again.json()["error"]["message"]


@pytest.mark.django_db(transaction=True)  # its work runs as a worker's does, on a connection of its own
def test_an_answer_with_no_story_makes_nothing_and_says_so(api: APIClient, model: ChatServer) -> None:
    model.replies += [(200, '{"title": "x"}'), (200, '{"title": "x", "story": "Just one sentence."}')]
    body = draft(api, idea="a cat").json()
    task = run(body["task"]["id"])
    assert task.status == "failed"
    assert "the answer has no story" in task.message and "not two sentences long" in task.message
    project = Project.objects.get(pk=body["project"]["id"])
    assert (project.story, project.status, project.status_parts[0]["code"]) == ("", "failed", "story_failed")
    empty = api.post(f"/api/v1/projects/{project.id}/storyboard/start")
    assert empty.status_code == 400 and "The story is empty" in empty.json()["error"]["message"]


def test_the_draft_back_end_and_bad_requests_are_refused(api: APIClient, settings: Any) -> None:
    settings.STORYBOARD_MODEL = "draft"
    refused = draft(api, idea="a cat")
    assert refused.status_code == 409 and "cannot follow an instruction" in refused.json()["error"]["message"]
    settings.STORYBOARD_MODEL = "openai:http://127.0.0.1:9/v1#m"
    assert api.post("/api/v1/stories/draft", {"idea": "a cat"}, format="json").status_code == 400  # no language
    assert draft(api, idea="a cat", length="epic").status_code == 400
    assert draft(api, idea="x" * 501).status_code == 400
    assert draft(api, idea="").status_code == 400
    assert not Project.objects.exists()


@pytest.mark.browser
def test_the_new_film_page_starts_from_an_idea_and_the_editor_cuts_the_story(
    page: Any, server: str, user: Any, model: ChatServer, settings: Any
) -> None:
    model.replies.append((200, json.dumps({"title": "The Keeper's Cat", "story": STORY})))
    sign_in(page, server, user.username)
    page.goto(f"{server}/projects/new/")
    page.fill("#id_idea", "a lighthouse cat who saves a boat")
    page.click("#idea-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/projects/[0-9a-f-]{36}/$"))  # the editor, not /projects/new/
    project = Project.objects.get(owner=user)
    page.locator("#story-panel").wait_for()
    # Nothing to edit while the story is being written (the project's status line says so).
    page.wait_for_function("() => document.getElementById('story-text').disabled", timeout=10_000)

    run_in_thread(str(project.tasks.get(kind="story").id))
    page.wait_for_function("story => document.getElementById('story-text').value === story", arg=STORY)
    page.fill("#story-text", STORY + " The end.")
    settings.STORYBOARD_MODEL = "draft"
    with page.expect_response(lambda r: r.url.endswith("/storyboard/start")) as started:
        page.click("#storyboard-start")
    assert started.value.status == 202
    project.refresh_from_db()
    assert project.story.endswith("The end."), "the edit was saved first"
    assert project.tasks.filter(kind="storyboard").exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_work_only_a_model_can_do_is_refused_when_no_live_worker_can_run_it(
    api: APIClient, settings: Any, tmp_path: Any
) -> None:
    """Each worker says, with its presence, which work it cannot do here and why; a story, a
    rewrite or a translation that no live language worker can run is refused at once, nothing
    made (issue 26: it was a project that then failed). With no worker live it is taken and waits."""
    from tasks.queues import why_no_worker_can
    from tests.workers import wait_for, workers

    missing = "transformers:some-lab/not-on-this-disk"
    settings.STORYBOARD_MODEL = missing
    with workers(tmp_path, "language", STORYBOARD_MODEL=missing, HF_HUB_OFFLINE="1"):
        why = wait_for(
            lambda: why_no_worker_can(queue="language", kind="story", configuration=missing), what="the worker's word"
        )
        assert why == "the weights of some-lab/not-on-this-disk are not on disk and HF_HUB_OFFLINE is set"
        assert why_no_worker_can(queue="language", kind="storyboard", configuration=missing) is None  # a draft can
        # Its word is of its own model: a request for another model is taken (its worker may have it).
        assert why_no_worker_can(queue="language", kind="story", configuration="openai:http://127.0.0.1:9/v1#m") is None
        refused = draft(api, idea="a cat who saves a boat")
        assert refused.status_code == 409, refused.content
        assert refused.json()["error"]["message"] == (
            f"No language worker can run {missing}: {why}. Fetch its weights on the workers' machine "
            "(python manage.py fetch_models), or set STORYBOARD_MODEL to a model they have."
        )
        assert not Project.objects.exists()


def test_making_a_storyboard_again_takes_only_again(api: APIClient, rendered: Project) -> None:
    """``again`` is the one field the start takes: a misspelt one is named, nothing is made."""
    typo = api.post(f"/api/v1/projects/{rendered.id}/storyboard/start", {"agian": True}, format="json")
    assert typo.status_code == 400 and "agian" in typo.json()["error"]["fields"], typo.content
    assert not rendered.tasks.filter(kind="storyboard").exists() and not rendered.snapshots.exists()
