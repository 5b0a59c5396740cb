"""Storyboards: the draft splitter on both sample stories, and a language model's untrusted
answer through the ``openai`` back end against a real HTTP server on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inference.errors import EngineError
from inference.storyboard import draft_storyboard, openai_storyboard
from inference.text import split_sentences, split_title
from tests.chat_server import ChatServer

LIGHTHOUSE = "The keeper lit the lamp. The storm came. The cat saved the boat."


def ask(chat: ChatServer, story: str = LIGHTHOUSE, **kwargs: Any) -> Any:
    return openai_storyboard(
        story,
        base_url=chat.url,
        model="qwen2.5",
        shot_count=3,
        language="en",
        style="storybook",
        api_key="secret",
        **kwargs,
    )


@pytest.mark.parametrize("name", ["lighthouse.en.txt", "moon-rabbit.zh.txt"])
def test_the_draft_splitter_covers_every_sentence_in_order(stories_dir: str, name: str) -> None:
    _, story = split_title((Path(stories_dir) / name).read_text(encoding="utf-8"))
    for count in (1, 3, 8, 60):
        board = draft_storyboard(story, shot_count=count)
        sentences = split_sentences(story)
        assert len(board.shots) == min(count, len(sentences))
        joined = "".join(shot.narration.replace(" ", "") for shot in board.shots)
        assert joined == "".join(sentence.replace(" ", "") for sentence in sentences)


def test_a_valid_answer_gives_exactly_those_shots(chat: ChatServer) -> None:
    answer = {
        "title": "The Keeper",
        "characters": [{"name": "Ada", "description": "an old keeper in a yellow coat"}],
        "shots": [
            {
                "prompt": "a keeper lights a lamp",
                "narration": "The keeper lit the lamp.",
                "camera": "zoom_in",
                "transition": "fade",
                "characters": ["Ada"],
            },
            {"prompt": "a storm at sea", "narration": "The storm came.", "camera": "pan_left", "transition": "cut"},
            {
                "prompt": "a cat by a boat",
                "narration": "The cat saved the boat.",
                "camera": "static",
                "transition": "dissolve",
                "characters": ["Ada", "Nobody"],
            },
        ],
    }
    chat.replies.append((200, json.dumps(answer)))
    board = ask(chat)
    assert (board.backend, board.model, board.title, board.notes) == ("openai", "qwen2.5", "The Keeper", [])
    assert [(s.prompt, s.narration, s.camera, s.transition) for s in board.shots] == [
        ("a keeper lights a lamp", "The keeper lit the lamp.", "zoom_in", "fade"),
        ("a storm at sea", "The storm came.", "pan_left", "cut"),
        ("a cat by a boat", "The cat saved the boat.", "static", "dissolve"),
    ]
    assert [s.characters for s in board.shots] == [["Ada"], [], ["Ada"]]
    request = chat.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer secret"
    numbered = "[1] The keeper lit the lamp.\n[2] The storm came.\n[3] The cat saved the boat."
    assert request["body"]["model"] == "qwen2.5" and numbered in request["body"]["messages"][1]["content"]


def test_shots_that_name_the_storys_sentences_by_number_tell_them_in_order(chat: ChatServer) -> None:
    story = "One. Two. Three. Four. Five."
    moves = [("a keeper at dawn", [1, 2], "zoom_in", "fade"), ("a cat on the stairs", [3, 3], "pan_left", "cut")]
    moves.append(("a lamp in the dark", [4, 5], "static", "dissolve"))
    shots = [
        {"prompt": prompt, "sentences": told, "camera": camera, "transition": transition, "characters": []}
        for prompt, told, camera, transition in moves
    ]
    chat.replies.append((200, json.dumps({"title": "T", "characters": [], "shots": shots})))
    board = ask(chat, story)
    assert [(s.prompt, s.narration) for s in board.shots] == [
        ("a keeper at dawn", "One. Two."),
        ("a cat on the stairs", "Three."),
        ("a lamp in the dark", "Four. Five."),
    ]
    assert board.notes == []  # told as numbered: nothing to repair, no narration written out

    # Numbers that overlap, skip or run past the story are put in order over all of it.
    shots[1]["sentences"], shots[2]["sentences"] = [1, 1], [9, 9]
    chat.replies.append((200, json.dumps({"shots": shots})))
    board = ask(chat, story)
    assert [s.narration for s in board.shots] == ["One. Two.", "Three.", "Four. Five."]
    assert "sentence numbers were made to follow one another" in board.notes[-1]

    many = [{**shots[0], "prompt": f"the moon, seen from shot {n}", "sentences": [1, 3]} for n in range(5)]
    chat.replies.append((200, json.dumps({"shots": many})))
    board = ask(chat, "月亮上有一只兔子。它很孤单。")
    assert [s.narration for s in board.shots] == ["月亮上有一只兔子。", "它很孤单。"]  # no more shots than sentences


def test_a_broken_answer_is_repaired(chat: ChatServer) -> None:
    fenced = (
        "Sure! Here is your storyboard:\n```json\n"
        '{"shots": [{"prompt": "a lamp", "narration": "The keeper lit the lamp.", "camera": "spin",},'
        ' {"narration": "The storm came. The cat saved the boat.", "transition": "explode"},],}\n```'
    )
    chat.replies.append((200, fenced))
    board = ask(chat)
    assert [s.prompt for s in board.shots] == ["a lamp", "The storm came. The cat saved the boat."]
    assert board.shots[0].camera != "spin" and board.shots[1].transition == "dissolve"
    assert board.notes == []


def test_an_answer_cut_off_by_the_token_budget_keeps_its_complete_shots(chat: ChatServer) -> None:
    cut_off = (
        '{"title": "The \\"Lamp\\" {keeper}", "shots": [{"prompt": "a lamp [lit]", "narration": "The keeper lit '
        'the lamp."}, {"prompt": "a storm", "narration": "The storm came. The cat saved the boat."}, {"prompt": "a bo'
    )
    chat.replies.append((200, cut_off))
    board = ask(chat)
    assert board.backend == "openai" and board.title == 'The "Lamp" {keeper}'
    assert [s.prompt for s in board.shots] == ["a lamp [lit]", "a storm"]
    assert " ".join(s.narration for s in board.shots) == LIGHTHOUSE


def test_narration_that_skips_sentences_is_re_cut_from_the_story(chat: ChatServer) -> None:
    chat.replies.append(
        (
            200,
            json.dumps(
                {
                    "shots": [
                        {"prompt": "a lamp in the window", "narration": "A lamp."},
                        {"prompt": "a boat on the waves", "narration": "A boat."},
                    ]
                }
            ),
        )
    )
    board = ask(chat)
    assert [s.prompt for s in board.shots] == ["a lamp in the window", "a boat on the waves"]
    assert " ".join(s.narration for s in board.shots) == LIGHTHOUSE
    assert "re-cut" in board.notes[0]


def test_two_unusable_answers_fall_back_to_the_draft_splitter_and_say_so(chat: ChatServer) -> None:
    chat.replies += [(200, "I cannot help with that."), (200, '{"shots": []}')]
    board = ask(chat)
    assert board.backend == "draft" and len(chat.requests) == 2
    assert "no usable storyboard in 2 attempts" in board.notes[-1]
    assert " ".join(s.narration for s in board.shots) == LIGHTHOUSE


def test_server_errors_say_whether_a_retry_can_help(chat: ChatServer) -> None:
    chat.replies.append((503, "busy"))
    with pytest.raises(EngineError) as busy:
        ask(chat)
    assert not busy.value.permanent
    chat.replies.append((404, "no such model"))
    with pytest.raises(EngineError) as missing:
        ask(chat)
    assert missing.value.permanent and "model name" in str(missing.value)
    chat.close()
    with pytest.raises(EngineError) as down:
        ask(chat)
    assert not down.value.permanent and "cannot be reached" in str(down.value)


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_project_gets_its_shots_from_the_model_server(chat: ChatServer, tmp_path: Path) -> None:
    from tasks.models import Task
    from tests.factories import ProjectFactory
    from tests.workers import wait_for, workers

    answer = {
        "title": "Keeper",
        "characters": [{"name": "Pip", "description": "a grey cat"}],
        "shots": [
            {
                "prompt": "a lit lamp",
                "narration": "The keeper lit the lamp. The storm came.",
                "characters": ["Pip"],
                "speaker": "The Sea",  # not in the cast: the narrator speaks it
            },
            {"prompt": "a cat and a boat", "narration": "The cat saved the boat.", "speaker": "Pip"},
        ],
    }
    chat.replies.append((200, json.dumps(answer)))
    project = ProjectFactory(story=LIGHTHOUSE, shot_count=2)
    with workers(tmp_path, "inference language", STORYBOARD_MODEL=f"openai:{chat.url}#qwen2.5"):
        from tasks.services import task_create

        task = task_create(kind="storyboard", project=project)
        wait_for(lambda: Task.objects.get(pk=task.pk).status in ("finished", "failed"), what="the storyboard")
    task.refresh_from_db()
    assert task.status == "finished", task.message
    assert (task.backend, task.model) == ("openai", "qwen2.5")
    assert [s.prompt for s in project.shots.order_by("order")] == ["a lit lamp", "a cat and a boat"]
    pip = project.characters.get(name="Pip")
    assert list(pip.shots.values_list("order", flat=True)) == [0]
    assert [s.speaker for s in project.shots.order_by("order")] == [None, pip]
    assert '"speaker"' in chat.requests[0]["body"]["messages"][1]["content"], "the model is asked who speaks"
