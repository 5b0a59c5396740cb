"""The prompt optimiser (issue 29, part 4): a request read into its parts (by the language
model, a chat server on loopback here; or the draft's keyword reading), a template of the style
writes the prompt, questions ask for what was not said, answers write it again, ratings rank the
person's templates."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from projects.models import PromptDraft, PromptTemplate
from projects.prompts import assemble, draft_reading, template_problem
from tasks.models import Task
from tests.chat_server import ChatServer
from tests.factories import LINES, ProjectFactory, UserFactory, shot_with_media
from tests.workers import run_in_thread

pytestmark = pytest.mark.django_db(transaction=True)

READ = {
    "intent": "a fox hiding from the rain",
    "subjects": ["a red fox", "a paper umbrella"],
    "setting": "a bamboo forest",
    "timeOfDay": "",
    "mood": "",
    "shotSize": "close_up",
    "cameraAngle": "sideways",  # not one of the angles: left out
}


PAGE = "a picture book page of a red fox and a paper umbrella"  # the storybook style's template, of READ


@pytest.fixture(autouse=True)
def drafting(settings: Any) -> None:
    """The draft back end, unless a test asks for the model (``model``); the template library the
    migration seeds (a test that flushes the database took it away)."""
    settings.STORYBOARD_MODEL = "draft"
    seeded = importlib.import_module("projects.migrations.0018_prompt_optimiser").TEMPLATES
    if not PromptTemplate.objects.exists():
        PromptTemplate.objects.bulk_create([PromptTemplate(name=n, style=s, text=t) for n, s, t in seeded])


@pytest.fixture
def model(chat: ChatServer, settings: Any) -> ChatServer:
    settings.STORYBOARD_MODEL = f"openai:{chat.url}#qwen2.5"
    return chat


def optimize(api: APIClient, **body: Any) -> Any:
    return api.post("/api/v1/prompts/optimize", body, format="json")


def test_on_the_draft_back_end_the_template_alone_writes_the_prompt_and_says_a_model_would_do_more(
    api: APIClient,
) -> None:
    answer = optimize(api, prompt="夜里竹林中一只狐狸的特写", style="电影")
    assert answer.status_code == 201, answer.content
    draft = answer.json()
    assert (draft["status"], draft["backend"], draft["style"], draft["task"]) == ("ready", "draft", "cinematic", None)
    assert "A language model (STORYBOARD_MODEL) would read the setting" in draft["note"]
    assert draft["entities"] == {"subjects": ["夜里竹林中一只狐狸的特写"], "timeOfDay": "night", "shotSize": "close_up"}
    assert draft["template"]["name"] == "Film still", "the style's own template before those for any style"
    assert draft["result"] == "close-up shot of 夜里竹林中一只狐狸的特写, night, composed like a film still"
    assert [q["field"] for q in draft["questions"]] == ["setting", "mood"]
    assert draft["questions"][0]["question"] == "Where does it take place?"
    assert [a["name"] for a in draft["alternatives"]] == ["Plain", "Scene first"]
    assert draft["alternatives"][0]["result"] == "close-up shot of 夜里竹林中一只狐狸的特写, night"

    # the dialogue: answers fill the parts, the prompt is written again; an alternative's template
    answered = api.post(
        f"/api/v1/prompts/{draft['id']}/answers", {"setting": "a bamboo forest", "mood": "quiet"}, format="json"
    )
    assert answered.status_code == 200, answered.content
    body = answered.json()
    assert body["result"] == (
        "close-up shot of 夜里竹林中一只狐狸的特写, a bamboo forest, night, quiet tone, composed like a film still"
    )
    assert body["questions"] == [] and body["answers"] == {"setting": "a bamboo forest", "mood": "quiet"}
    plain = body["alternatives"][0]
    chosen = api.post(f"/api/v1/prompts/{draft['id']}/answers", {"templateId": plain["templateId"]}, format="json")
    assert chosen.json()["result"] == plain["result"] and chosen.json()["template"]["name"] == "Plain"
    kept = api.post(f"/api/v1/prompts/{draft['id']}/answers", {"mood": "still"}, format="json").json()
    assert kept["template"]["name"] == "Plain" and kept["result"].endswith("still mood"), "an answer keeps it"


def test_ratings_rank_the_persons_templates_first_next_time(api: APIClient, user: Any) -> None:
    first = optimize(api, prompt="a lighthouse at dusk", style="cinematic").json()
    assert first["template"]["name"] == "Film still"
    assert api.post(f"/api/v1/prompts/{first['id']}/rating", {"rating": 1}, format="json").status_code == 200
    second = optimize(api, prompt="a lighthouse at dusk", style="cinematic").json()
    assert second["template"]["name"] == "Plain", "a template rated 1 falls below the unrated (3)"
    scene = next(a for a in second["alternatives"] if a["name"] == "Scene first")
    api.post(f"/api/v1/prompts/{second['id']}/answers", {"templateId": scene["templateId"]}, format="json")
    api.post(f"/api/v1/prompts/{second['id']}/rating", {"rating": 5}, format="json")
    third = optimize(api, prompt="a harbour at night", style="cinematic").json()
    assert third["template"]["name"] == "Scene first"
    assert third["result"] == "night, a harbour at night", "the draft reading: the words are the subject"
    # another person's ratings are theirs: theirs rank nothing for this one
    other = APIClient()
    other.force_authenticate(UserFactory())
    assert optimize(other, prompt="a harbour", style="cinematic").json()["template"]["name"] == "Film still"
    assert PromptDraft.objects.get(pk=first["id"]).rating == 1


def test_the_language_model_reads_the_request_under_a_strict_schema_and_a_shots_framing_stays_its_own(
    api: APIClient, user: Any, model: ChatServer, tmp_path: Path
) -> None:
    model.replies.append((200, json.dumps(READ)))
    answer = optimize(api, prompt="a fox with an umbrella, close up, in the bamboo", style="watercolor")
    assert answer.status_code == 202, answer.content
    draft = answer.json()
    assert (draft["status"], draft["task"]["kind"], draft["task"]["projectId"]) == ("reading", "optimize", None)
    assert draft["questions"] == [] and draft["result"] == ""
    refused = api.post(f"/api/v1/prompts/{draft['id']}/answers", {"mood": "calm"}, format="json")
    assert refused.status_code == 409 and "still being read" in refused.json()["error"]["message"]
    run_in_thread(draft["task"]["id"])
    ready = api.get(f"/api/v1/prompts/{draft['id']}").json()
    assert (ready["status"], ready["backend"], ready["model"]) == ("ready", "openai", "qwen2.5")
    assert ready["entities"] == {**READ, "cameraAngle": ""}
    assert ready["result"] == "a red fox and a paper umbrella in a bamboo forest, close-up shot, soft edges"
    assert [q["field"] for q in ready["questions"]] == ["timeOfDay", "mood"]
    system, user_message = model.requests[0]["body"]["messages"]
    assert '"shotSize": str' in system["content"] and "never invent one" in system["content"]
    assert user_message["content"] == "Request: a fox with an umbrella, close up, in the bamboo"
    assert Task.objects.get(pk=draft["task"]["id"]).message == "Read the request and wrote the prompt (qwen2.5)."

    # for a shot: its film's style, its narration as context, its framing left to its own fields
    project = ProjectFactory(owner=user, style="storybook")
    shot = shot_with_media(project, 0, LINES[0], tmp_path)
    model.replies.append((200, json.dumps(READ | {"timeOfDay": "night"})))
    for_shot = optimize(api, prompt="the fox again", shotId=str(shot.id)).json()
    assert for_shot["task"]["projectId"] == str(project.id) and for_shot["task"]["shotId"] == str(shot.id)
    run_in_thread(for_shot["task"]["id"])
    ready = api.get(f"/api/v1/prompts/{for_shot['id']}").json()
    assert ready["style"] == "storybook" and ready["template"]["name"] == "Picture book page"
    assert ready["result"] == "a picture book page of a red fox and a paper umbrella, a bamboo forest, night"
    assert [q["field"] for q in ready["questions"]] == ["mood"], "a shot's size is its own field: not asked"
    assert model.requests[1]["body"]["messages"][1]["content"].endswith(f"The shot's narration: {LINES[0]}")
    listed = api.get(f"/api/v1/prompts?shotId={shot.id}").json()
    assert [d["id"] for d in listed["results"]] == [for_shot["id"]], "the shot's dialogue"


def test_an_answer_that_reads_nothing_fails_the_task_and_the_draft_says_so(api: APIClient, model: ChatServer) -> None:
    empty: dict[str, Any] = {key: "" for key in READ} | {"subjects": []}
    model.replies.extend([(200, json.dumps(empty)), (200, "not json")])
    draft = optimize(api, prompt="something").json()
    run_in_thread(draft["task"]["id"])
    failed = api.get(f"/api/v1/prompts/{draft['id']}").json()
    assert failed["status"] == "failed" and failed["task"]["status"] == "failed"
    assert "qwen2.5 gave no usable answer in 2 attempts" in failed["task"]["error"] + failed["task"]["message"]
    assert "the answer names no subject and no setting" in failed["task"]["error"] + failed["task"]["message"]


@pytest.mark.parametrize(
    ("path", "body", "field", "words"),
    [
        ("optimize", {"prompt": ""}, "prompt", "This field may not be blank."),
        ("optimize", {"prompt": "x" * 2001}, "prompt", "no more than 2000 characters"),
        ("optimize", {"prompt": "a fox", "shot": "x"}, "shot", "Unknown field."),
        ("optimize", {"prompt": "a fox", "shotId": "nope"}, "shotId", "Must be a valid UUID."),
        ("answers", {}, "", "Answer at least one question, or name a templateId."),
        ("answers", {"shotSize": "huge"}, "shotSize", "is not a valid choice."),
        ("answers", {"templateId": "00000000-0000-0000-0000-000000000000"}, "templateId", "No active template"),
        ("rating", {"rating": 6}, "rating", "less than or equal to 5."),
    ],
)
def test_bad_requests_are_refused_naming_the_field_and_change_nothing(
    api: APIClient, path: str, body: dict[str, Any], field: str, words: str
) -> None:
    draft = optimize(api, prompt="a lighthouse", style="photo").json()
    url = "/api/v1/prompts/optimize" if path == "optimize" else f"/api/v1/prompts/{draft['id']}/{path}"
    answer = api.post(url, body, format="json")
    assert answer.status_code == 400, answer.content
    error = answer.json()["error"]
    assert words in str(error["fields"][field] if field else error["message"]), error
    assert PromptDraft.objects.count() == 1
    assert api.get(f"/api/v1/prompts/{draft['id']}").json()["result"] == draft["result"]


def test_a_draft_and_a_shot_are_their_owners_alone(api: APIClient, user: Any, tmp_path: Path) -> None:
    draft = optimize(api, prompt="a lighthouse").json()
    other = APIClient()
    other.force_authenticate(UserFactory())
    for call in (
        lambda: other.get(f"/api/v1/prompts/{draft['id']}"),
        lambda: other.post(f"/api/v1/prompts/{draft['id']}/rating", {"rating": 3}, format="json"),
        lambda: other.post(f"/api/v1/prompts/{draft['id']}/answers", {"mood": "calm"}, format="json"),
    ):
        assert call().status_code == 404
    assert other.get("/api/v1/prompts").json()["count"] == 0
    shot = shot_with_media(ProjectFactory(owner=user), 0, LINES[0], tmp_path)
    assert optimize(other, prompt="a fox", shotId=str(shot.id)).status_code == 404
    assert other.get(f"/api/v1/prompts?shotId={shot.id}").status_code == 404


@pytest.mark.parametrize(
    ("prompt", "time", "size"),
    [
        ("a knight in a wonderfully wide valley", "", ""),  # no time, no size: only whole names count
        ("medium close-up of a fox at night", "night", "medium_close_up"),
        ("a wide shot of the harbour at dusk", "dusk", "wide"),
        ("黄昏时中近景的狐狸", "dusk", "medium_close_up"),
        ("狐狸的特写", "", "close_up"),
    ],
)
def test_the_draft_reading_knows_times_and_shot_sizes_only_by_their_whole_names(
    prompt: str, time: str, size: str
) -> None:
    read = draft_reading(prompt)
    assert (read["timeOfDay"], read["shotSize"], read["subjects"]) == (time, size, [prompt])


def test_templates_are_checked_and_staff_edit_the_library_in_the_admin() -> None:
    assert template_problem("{subjects}, {weather}").startswith("Unknown part {weather}: use {subjects}")
    assert "must name {subjects}" in template_problem("{setting}")
    assert assemble("{shotSize} of {subjects}|{subjects}, {mood} mood", {"subjects": ["a cat"]}) == "a cat"
    assert assemble("{subjects}", {"subjects": ["a", "b", "c"]}) == "a, b and c"
    operator = Client()
    operator.force_login(UserFactory(is_staff=True, is_superuser=True))
    form = {"name": "Stormy", "style": "cinematic", "text": "{subjects} in {weather}", "active": "on"}
    refused = operator.post("/admin/projects/prompttemplate/add/", form)
    assert refused.status_code == 200 and b"Unknown part {weather}" in refused.content
    made = operator.post("/admin/projects/prompttemplate/add/", form | {"text": "{subjects} in a storm, {mood} mood"})
    assert made.status_code == 302 and PromptTemplate.objects.filter(name="Stormy").exists()
    assert operator.get("/admin/projects/promptdraft/").status_code == 200


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_editor_improves_a_shots_prompt_asks_what_is_missing_and_uses_the_answer(
    server: str, page: Any, rendered: Any, model: ChatServer, language: str
) -> None:
    from tests.browser import shot_menu, sign_in

    words = {
        "en": ("Improve the prompt", "What time of day is it?", "Use this prompt"),
        "zh-hans": ("改进画面提示词", "是一天中的什么时候？", "使用这条提示词"),
    }[language]
    model.replies.append((200, json.dumps(READ | {"mood": "quiet"})))
    page.context.set_extra_http_headers({"Accept-Language": language})
    shot = rendered.shots.get(order=0)
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = shot_menu(page.locator(".shot").first)
    improve = card.locator(".optimize")
    assert improve.inner_text() == words[0]
    with page.expect_response(lambda r: r.url.endswith("/prompts/optimize")) as asked:
        improve.click()
    assert asked.value.status == 202, asked.value.text()
    run_in_thread(asked.value.json()["task"]["id"])
    result = card.locator(".optimized")
    result.filter(has_text="a red fox").wait_for()  # the page follows the draft until it is read
    assert rendered.style == "storybook" and result.inner_text() == f"{PAGE}, a bamboo forest, a quiet feeling"
    question = card.locator(".optimizer-questions label")
    assert question.count() == 1 and question.first.inner_text().strip() == words[1]
    question.locator("input").fill("dusk")
    with page.expect_response(lambda r: r.url.endswith("/answers")) as answered:
        card.locator(".optimize-answer").click()
    assert answered.value.status == 200
    result.filter(has_text="dusk").wait_for()
    assert result.inner_text() == f"{PAGE}, a bamboo forest, dusk, a quiet feeling"
    assert card.locator(".optimizer-questions label").count() == 0 and card.locator(".optimize-answer").is_hidden()
    with page.expect_response(lambda r: r.url.endswith("/rating")) as rated:
        card.locator(".rate[data-rating='4']").click()
    assert rated.value.status == 200
    page.wait_for_function(
        "() => document.querySelector(\".rate[data-rating='4']\").getAttribute('aria-pressed') === 'true'"
    )

    use = card.locator(".optimize-use")
    assert use.inner_text() == words[2]
    use.click()
    assert card.locator(".prompt").input_value() == result.inner_text()
    assert card.locator(".shot-size").input_value() == "close_up" and card.locator(".save").is_visible()
    with page.expect_response(lambda r: r.request.method == "PATCH") as saved:
        card.locator(".save").click()
    assert saved.value.status == 200
    shot.refresh_from_db()
    assert (shot.prompt, shot.shot_size) == (f"{PAGE}, a bamboo forest, dusk, a quiet feeling", "close_up")
    assert PromptDraft.objects.get(shot=shot).rating == 4


def test_the_readmes_optimiser_examples_run_as_written(api: APIClient) -> None:
    from tests.test_clients import readme_requests

    examples = [(method, path, body) for method, path, body in readme_requests() if path.startswith("/api/v1/prompts")]
    assert [path.rsplit("/", 1)[1] for _, path, _ in examples] == ["optimize", "answers", "rating"], examples
    (_, asked, body), (_, answer, answers), (_, rate, rating) = examples
    draft = api.post(asked, body, format="json")
    assert draft.status_code == 201 and draft.json()["entities"]["shotSize"] == "close_up", draft.content
    answered = api.post(answer.replace("$DRAFT", draft.json()["id"]), answers, format="json")
    assert "a bamboo forest" in answered.json()["result"] and answered.json()["questions"] == []
    rated = api.post(rate.replace("$DRAFT", draft.json()["id"]), rating, format="json")
    assert rated.status_code == 200 and rated.json()["rating"] == 4
