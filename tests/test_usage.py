"""Issue 14, section 6: what every task used (its device and seconds, a language model's tokens,
pictures and steps, seconds of narration and film), summed for a project and for a user over a
window of time, and priced where the installation sets prices."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from projects.models import Project
from storyvideo.env import env_prices
from tasks.jobs import run_task
from tasks.models import Task
from tests.chat_server import ChatServer
from tests.factories import ProjectFactory
from tests.workers import wait_for, workers

pytestmark = pytest.mark.django_db


@pytest.mark.worker
def test_every_task_records_what_it_used_and_the_project_sums_them(
    api: APIClient, rendered: Project, tmp_path: Path, settings: Any
) -> None:
    shot = rendered.shots.get(order=0)
    assert (
        api.patch(
            f"/api/v1/shots/{shot.id}", {"prompt": "a red boat", "narration": "A red boat."}, format="json"
        ).status_code
        == 200
    )
    with workers(tmp_path, "inference language", "media"):
        wait_for(lambda: not rendered.tasks.filter(status__in=Task.UNFINISHED).exists(), what="the edit's work")
    image, speech, compose = (
        rendered.tasks.filter(kind=kind).latest("created_at") for kind in ("image", "speech", "compose")
    )
    assert all(t.status == "finished" for t in (image, speech, compose))
    assert image.usage["images"] == 1 and image.usage["device"] == "cpu" and image.usage["wallSeconds"] > 0
    assert "steps" not in image.usage, "a drawn card takes no denoising steps"
    shot.refresh_from_db()
    assert speech.usage["audioSeconds"] == pytest.approx(shot.speech_duration, abs=0.01)
    rendered.refresh_from_db()
    assert compose.usage["videoSeconds"] == pytest.approx(rendered.render_duration, abs=0.05)
    assert all(t.usage["deviceSeconds"] == 0 for t in (image, speech, compose)), "no GPU here"

    settings.USAGE_PRICES = {"cpu_hour": 3600.0, "image": 0.5}  # a second of CPU costs 1
    used = api.get(f"/api/v1/projects/{rendered.id}/usage").json()
    tasks = list(rendered.tasks.all())
    # the fixture's render, then the edit's three (and a clips task where a shot's clip was not stored yet)
    assert used["tasks"] == len(tasks)
    assert sorted(t.kind for t in tasks if t.kind != "clips") == ["compose", "compose", "image", "speech"]
    assert used["byKind"]["image"]["images"] == 1 and used["audioSeconds"] == pytest.approx(
        shot.speech_duration, abs=0.01
    )
    wall = sum(t.usage.get("wallSeconds", 0) for t in tasks)
    assert used["wallSeconds"] == pytest.approx(wall, abs=0.01) and used["secondsByDevice"]["cpu"] == pytest.approx(
        wall, abs=0.01
    )
    assert used["cost"] == pytest.approx(wall + 0.5, abs=0.01) and used["currency"] == "USD"


def test_a_language_models_tokens_are_counted(
    api: APIClient, rendered: Project, chat: ChatServer, settings: Any
) -> None:
    settings.STORYBOARD_MODEL = f"openai:{chat.url}#qwen2.5"
    chat.replies.append((200, json.dumps({"prompt": "a lighthouse at night", "narration": ""})))
    chat.usage = {"prompt_tokens": 321, "completion_tokens": 54}
    shot = rendered.shots.get(order=0)
    task_id = api.post(f"/api/v1/shots/{shot.id}/refine", {"instruction": "night"}, format="json").json()["id"]
    assert run_task(task_id) == "finished"
    usage = Task.objects.get(pk=task_id).usage
    assert (usage["tokensIn"], usage["tokensOut"], usage["device"]) == (321, 54, "remote")


def test_a_users_usage_over_a_window_of_time(api: APIClient, user: Any, other_user: Any, settings: Any) -> None:
    now = timezone.now()
    mine, theirs = ProjectFactory(owner=user), ProjectFactory(owner=other_user)

    def task(project: Project, days_ago: int, **usage: Any) -> None:
        made = Task.objects.create(kind="speech", project=project, owner=project.owner, status="finished", usage=usage)
        Task.objects.filter(pk=made.pk).update(created_at=now - timedelta(days=days_ago))

    task(mine, 1, wallSeconds=10.0, audioSeconds=4.0, device="cpu")
    task(mine, 3, wallSeconds=30.0, deviceSeconds=30.0, images=2, device="cuda:0")
    task(mine, 40, wallSeconds=500.0)  # before the default 30 days
    task(theirs, 1, wallSeconds=99.0)
    body = api.get("/api/v1/usage").json()
    assert (body["tasks"], body["wallSeconds"], body["deviceSeconds"], body["images"]) == (2, 40.0, 30.0, 2.0)
    assert body["secondsByDevice"] == {"cpu": 10.0, "cuda": 30.0} and body["cost"] is None
    day = (now - timedelta(days=2)).date().isoformat()
    assert api.get(f"/api/v1/usage?from={day}").json()["wallSeconds"] == 10.0
    assert api.get(f"/api/v1/usage?to={day}").json()["tasks"] == 1  # the three-day-old one
    settings.USAGE_PRICES = {"cuda_hour": 360.0, "audio_minute": 6.0}
    assert api.get("/api/v1/usage").json()["cost"] == pytest.approx(30 * 0.1 + 4 * 0.1)
    assert api.get("/api/v1/usage?from=yesterday").status_code == 400
    assert api.get(f"/api/v1/usage?from={now.date().isoformat()}&to={day}").status_code == 400


def test_the_price_table_is_parsed_strictly() -> None:
    assert env_prices("P", environ={"P": "cuda_hour=2.5, image=0.002"}) == {"cuda_hour": 2.5, "image": 0.002}
    assert env_prices("P", environ={}) == {}
    for bad in ("gpu=1", "image=free", "image=-1", "image=nan"):
        with pytest.raises(ImproperlyConfigured):
            env_prices("P", environ={"P": bad})


def test_the_preview_page_and_the_admin_show_what_a_project_used(admin_client: Client, rendered: Project) -> None:
    client = Client()
    client.force_login(rendered.owner)
    page = client.get(f"/projects/{rendered.id}/preview/").content.decode()
    assert "What it used" in page and "Film and clips made (s)" in page
    admin = admin_client.get(f"/admin/projects/project/{rendered.id}/change/").content.decode()
    assert f"{rendered.tasks.count()} tasks" in admin and "s of film" in admin
