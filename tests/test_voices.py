"""Issue 13, section 3: a voice per character and who is speaking. A character's lines are
spoken in its voice (one of its project's language), the narrator's in the project's; changing
either redoes only the lines it speaks; subtitles may name the speaker."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from projects.models import Character, Project
from shots.models import Shot
from tasks.jobs import run_task
from tasks.models import Task
from tests.browser import shot_menu, sign_in
from tests.factories import ProjectFactory, ShotFactory
from tests.test_versions import run_all

pytestmark = pytest.mark.django_db


def character(api: APIClient, project: Project, name: str, voice: str = "") -> dict[str, Any]:
    response = api.post(f"/api/v1/projects/{project.id}/characters", {"name": name, "voice": voice}, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())


def speak(shot: Shot) -> Shot:
    """Run the shot's latest speech task in this process, as the inference worker would; the
    worker speaks the project's other pending lines with it, so it may be done already."""
    task = shot.tasks.filter(kind="speech").latest("created_at")
    if task.status == "pending":
        assert run_task(str(task.id)) == "finished", Task.objects.get(pk=task.pk).message
    assert Task.objects.get(pk=task.pk).status == "finished"
    return Shot.objects.get(pk=shot.pk)


def pending_speech(project: Project) -> set[int]:
    pending = Task.objects.filter(project=project, kind="speech", status="pending")
    return set(pending.values_list("shot__order", flat=True))


@pytest.mark.django_db(transaction=True)  # its work runs as a worker's does, on a connection of its own
def test_each_line_is_spoken_in_its_speakers_voice(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user, voice="espeak:en-us")
    ada = character(api, project, "Ada", "espeak:en-gb")
    narrated, spoken = ShotFactory(project=project, order=0), ShotFactory(project=project, order=1)
    response = api.patch(f"/api/v1/shots/{spoken.id}", {"speakerId": ada["id"]}, format="json")
    assert response.status_code == 200 and response.json()["speakerId"] == ada["id"]
    api.post(f"/api/v1/shots/{narrated.id}/generate", {"stage": "speech"}, format="json")
    assert speak(narrated).speech_source == "espeak:en-us"
    assert speak(spoken).speech_source == "espeak:en-gb"

    # A new voice for Ada redoes her lines only; a new narrator's voice, the narrator's only.
    scottish = {"voice": "espeak:en-gb-scotland"}
    assert api.patch(f"/api/v1/characters/{ada['id']}", scottish, format="json").status_code == 200
    assert pending_speech(project) == {1}
    assert speak(spoken).speech_source == "espeak:en-gb-scotland"
    assert api.patch(f"/api/v1/projects/{project.id}", {"voice": "espeak:en-029"}, format="json").status_code == 200
    assert pending_speech(project) == {0}
    assert speak(narrated).speech_source == "espeak:en-029"

    # Ada deleted: the narrator speaks her lines again, in the narrator's voice.
    assert api.delete(f"/api/v1/characters/{ada['id']}").status_code == 204
    assert pending_speech(project) == {1}
    after = speak(spoken)
    assert (after.speaker_id, after.speech_source) == (None, "espeak:en-029")


def test_a_speaker_with_the_same_voice_is_only_a_new_subtitle(api: APIClient, rendered: Project) -> None:
    shot = rendered.shots.get(order=0)
    pip = character(api, rendered, "Pip")  # no voice of its own: the narrator's
    version = shot.speech_version
    assert api.patch(f"/api/v1/shots/{shot.id}", {"speakerId": pip["id"]}, format="json").status_code == 200
    shot.refresh_from_db()
    assert shot.speech_version == version and not pending_speech(rendered)
    assert not rendered.tasks.filter(status__in=Task.UNFINISHED).exists(), "the subtitles do not name speakers"
    Project.objects.filter(pk=rendered.pk).update(subtitle_speakers=True)
    assert api.patch(f"/api/v1/shots/{shot.id}", {"speakerId": None}, format="json").status_code == 200
    assert Shot.objects.get(pk=shot.pk).speaker_id is None and not pending_speech(rendered)
    assert rendered.tasks.filter(kind="compose", status__in=Task.UNFINISHED).exists(), "they do now: Pip's name goes"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_subtitles_name_the_speaker_when_asked(api: APIClient, rendered: Project, language: str) -> None:
    Project.objects.filter(pk=rendered.pk).update(language=language)
    name = "Ada" if language == "en" else "阿达"
    ada = Character.objects.create(project=rendered, name=name, seed=7)
    Shot.objects.filter(project=rendered, order=1).update(speaker=ada)
    assert api.patch(f"/api/v1/projects/{rendered.id}", {"subtitleSpeakers": True}, format="json").status_code == 200
    compose, *clips = run_all(rendered)  # and the shot's clip for an editor, where not stored yet
    assert compose.kind == "compose" and compose.status == "finished", compose.message
    assert all(c.kind == "clips" for c in clips)
    rendered.refresh_from_db()
    cues = [cue["text"] for cue in rendered.render_manifest["cues"]]
    label = "Ada: " if language == "en" else "阿达："
    assert not cues[0].startswith(label), "the narrator's lines are not named"
    assert [c for c in cues if c.startswith(label)], cues
    assert label in rendered.render_srt.read().decode()
    # Turned off again: the speaker's name goes from the film.
    assert api.patch(f"/api/v1/projects/{rendered.id}", {"subtitleSpeakers": False}, format="json").status_code == 200
    run_all(rendered)
    rendered.refresh_from_db()
    assert label not in rendered.render_srt.read().decode()


def test_bad_voices_and_speakers_are_refused_and_change_nothing(api: APIClient, user: Any, other_user: Any) -> None:
    project = ProjectFactory(owner=user, language="zh")
    shot = ShotFactory(project=project)
    cast = f"/api/v1/projects/{project.id}/characters"
    wrong = api.post(cast, {"name": "Ada", "voice": "espeak:en-gb"}, format="json")
    assert wrong.status_code == 400 and "speaks 'en'" in wrong.json()["error"]["message"]
    missing = api.post(cast, {"name": "Ada", "voice": "piper:xx"}, format="json")
    assert missing.status_code == 400 and "GET /api/v1/voices" in missing.json()["error"]["message"]
    assert not project.characters.exists()
    mei = character(api, project, "Mei", "espeak:cmn")
    assert api.patch(f"/api/v1/characters/{mei['id']}", {"voice": "espeak:en-us"}, format="json").status_code == 400
    assert Character.objects.get(pk=mei["id"]).voice == "espeak:cmn"

    elsewhere = Character.objects.create(project=ProjectFactory(owner=other_user), name="Eve", seed=1)
    refused = api.patch(f"/api/v1/shots/{shot.id}", {"speakerId": str(elsewhere.id)}, format="json")
    assert refused.status_code == 400 and "speakerId" in refused.json()["error"]["fields"]
    assert Shot.objects.get(pk=shot.pk).speaker_id is None and not pending_speech(project)


def test_the_voices_list_says_what_each_voice_speaks(api: APIClient) -> None:
    body = api.get("/api/v1/voices").json()
    languages = body["languages"]
    assert set(languages) == set(body["voices"])
    named = ("espeak:cmn", "espeak:en-gb", "piper:en_US-joe-medium", "espeak")
    assert [languages[voice] for voice in named] == ["zh", "en", "en", None]


@pytest.mark.browser
def test_the_editor_gives_a_character_a_voice_and_a_shot_its_speaker(page: Any, server: str, rendered: Project) -> None:
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    form = page.locator("#character-form")
    form.locator("select[name=voice] option[value='espeak:en-gb']").wait_for(state="attached")
    assert not form.locator("select[name=voice] option[value='espeak:cmn']").count(), "only the story's language"
    form.locator("input[name=name]").fill("Ada")
    form.locator("select[name=voice]").select_option("espeak:en-gb")
    form.locator("button[type=submit]").click()
    page.locator("#characters li", has_text="voice espeak:en-gb").wait_for()
    ada = rendered.characters.get(name="Ada")
    assert ada.voice == "espeak:en-gb"

    card = page.locator(".shot").nth(1)
    card.locator(".speaker option", has_text="Ada").wait_for(state="attached")
    shot_menu(card).locator(".speaker").select_option(label="Ada")
    with page.expect_response(lambda r: r.request.method == "PATCH" and "/shots/" in r.url) as saved:
        card.locator(".save").click()
    assert saved.value.status == 200
    shot = rendered.shots.get(order=1)
    assert shot.speaker_id == ada.id
    assert shot.tasks.filter(kind="speech", status="pending").exists(), "her line is spoken again in her voice"
    page.reload()
    assert page.locator(".shot").nth(1).locator(".speaker").input_value() == str(ada.id)

    page.locator("#settings summary").click()
    page.locator("#settings-form input[name=subtitleSpeakers]").check()
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.url.endswith(str(rendered.id))) as answer:
        page.locator("#settings-form button[type=submit]").click()
    assert answer.value.status == 200 and answer.value.json()["subtitleSpeakers"] is True
