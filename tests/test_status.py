"""A project's status is derived in one place from its tasks whenever tasks are created or end,
said in words, and pushed to the project's channel (issue 11, item 1)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from channels.db import database_sync_to_async

from projects.models import Project
from projects.pipeline import project_status_refresh
from tasks.models import Task
from tests.factories import ProjectFactory, ShotFactory
from tests.test_live import _connect, session_headers

pytestmark = pytest.mark.django_db


def status_of(api: Any, project: Project) -> tuple[str, str, str]:
    body = api.get(f"/api/v1/projects/{project.id}").json()
    return body["status"], body["statusLabel"], body["statusMessage"]


def test_an_edit_of_a_rendered_film_says_rendering_at_once_and_in_words(api: Any, rendered: Project) -> None:
    assert status_of(api, rendered) == ("rendered", "Rendered", "")
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    assert api.patch(f"/api/v1/shots/{shot.id}", {"camera": "pan_left"}, format="json").status_code == 200
    # No worker has taken it: it says it waits (issue 26), and what runs once it runs.
    waits = "The film waits for the media worker (0 ahead of it)."
    assert status_of(api, rendered) == ("rendering", "Rendering", waits)
    compose = rendered.tasks.get(kind="compose", status="pending")
    other = ProjectFactory(owner=rendered.owner)
    Task.objects.create(kind="compose", project=other, status="pending")
    Task.objects.filter(project=other).update(created_at=compose.created_at - timedelta(seconds=1))
    project_status_refresh(project_id=rendered.id)
    assert status_of(api, rendered)[2] == "The film waits for the media worker (1 ahead of it)."
    Task.objects.filter(project=other).delete()
    Task.objects.filter(pk=compose.pk).update(status="processing")
    project_status_refresh(project_id=rendered.id)
    assert status_of(api, rendered) == ("rendering", "Rendering", "Composing the film.")
    Task.objects.filter(pk=compose.pk).update(status="pending")

    # A new voice first, then the film: the voice is what it waits for.
    assert api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "speech"}, format="json").status_code == 202
    assert status_of(api, rendered) == (
        "generating",
        "Generating shots",
        "1 picture, clip or voice task(s) waiting for a worker (0 ahead of them).",
    )

    # Cancelling both leaves the film that was made, and says it.
    for task in rendered.tasks.filter(status__in=Task.UNFINISHED):
        api.post(f"/api/v1/tasks/{task.id}/cancel")
    assert status_of(api, rendered)[0] == "rendered"


def test_regenerating_nothing_does_not_claim_to_generate(api: Any, user: Any) -> None:
    project = ProjectFactory(owner=user, status=Project.Status.READY, auto_render=False)
    shot = ShotFactory(project=project, narration="")
    response = api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "speech"}, format="json")
    assert response.status_code in (202, 400), response.content
    assert not project.tasks.filter(status__in=Task.UNFINISHED).exists()
    assert status_of(api, project)[0] == "ready"


def test_the_status_is_pushed_to_the_project_channel(user: Any, rendered: Project) -> None:
    from projects.pipeline import project_render

    headers = session_headers(user)

    async def watch() -> dict[str, Any]:
        connected, _, communicator = await _connect(f"/ws/projects/{rendered.id}/", headers)
        assert connected
        assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
        await database_sync_to_async(project_render)(project=rendered)
        while True:
            event = await communicator.receive_json_from(timeout=10)
            if event["type"] == "project":
                await communicator.disconnect()
                return event

    event = asyncio.run(watch())
    assert event["project"]["id"] == str(rendered.id)
    assert (event["project"]["status"], event["project"]["statusMessage"]) == (
        "rendering",
        "The film waits for the media worker (0 ahead of it).",
    )
    assert event["project"]["render"]["videoUrl"], "the film that was made is still shown"


def test_the_music_level_and_burned_subtitles_recompose_only(api: Any, rendered: Project) -> None:
    assert api.patch(f"/api/v1/projects/{rendered.id}", {"musicVolumeDb": 40}, format="json").status_code == 400
    response = api.patch(f"/api/v1/projects/{rendered.id}", {"musicVolumeDb": -6}, format="json")
    assert response.status_code == 200 and response.json()["musicVolumeDb"] == -6
    unfinished = list(rendered.tasks.filter(status__in=Task.UNFINISHED).values_list("kind", flat=True))
    assert unfinished == ["compose"]
    api.post(f"/api/v1/tasks/{rendered.tasks.get(kind='compose', status__in=Task.UNFINISHED).id}/cancel")
    api.patch(f"/api/v1/projects/{rendered.id}", {"burnSubtitles": False}, format="json")
    assert list(rendered.tasks.filter(status__in=Task.UNFINISHED).values_list("kind", flat=True)) == ["compose"]


def test_the_status_line_comes_with_its_parts(api: Any, rendered: Project) -> None:
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "speech"}, format="json")
    body = api.get(f"/api/v1/projects/{rendered.id}").json()
    assert body["statusParts"] == [{"code": "media_waiting", "count": 1, "ahead": 0}]
    assert body["statusMessage"] == "1 picture, clip or voice task(s) waiting for a worker (0 ahead of them)."
    rendered.tasks.filter(kind="speech").update(status="processing")
    project_status_refresh(project_id=rendered.id)
    body = api.get(f"/api/v1/projects/{rendered.id}").json()
    assert body["statusParts"] == [{"code": "media_to_go", "count": 1}]
    assert body["statusMessage"] == "1 picture, clip or voice task(s) to go."


def test_a_render_the_reconciler_fails_settles_the_status_and_calls_the_webhook(rendered: Project) -> None:
    """A render whose worker died on its last attempt is failed by the reconciler, not by a job:
    what follows a settled task (the status, the webhook) must follow it too."""
    from django.utils import timezone

    from projects.pipeline import project_status_derive
    from tasks.reconciler import reconcile

    Project.objects.filter(pk=rendered.pk).update(webhook_url="https://receiver.example/hook", webhook_secret="s" * 64)
    long_ago = timezone.now() - timezone.timedelta(hours=1)
    render = Task.objects.create(
        kind="compose",
        project=rendered,
        owner=rendered.owner,
        status="processing",
        attempt=3,
        max_attempts=3,
        started_at=long_ago,
        heartbeat_at=long_ago,
        worker="another-machine:1",
    )
    project_status_derive(project=rendered)
    rendered.refresh_from_db()
    assert rendered.status == "rendering"

    assert reconcile().failed == 1
    render.refresh_from_db()
    rendered.refresh_from_db()
    assert render.status == "failed" and "heartbeat stopped" in render.message
    assert rendered.status == "rendered" and "its last render failed" in rendered.status_message
    delivery = rendered.tasks.get(kind="webhook")
    assert delivery.params == {"render": str(render.id)}


def test_a_first_film_that_failed_is_not_called_ready(api: Any, user: Any) -> None:
    """With no earlier film to keep, a failed first render said "Every shot is ready: render the film."."""
    from projects.pipeline import project_status_derive

    project = ProjectFactory(owner=user)
    ShotFactory(project=project)
    Task.objects.create(kind="compose", project=project, owner=user, status="failed", message="ffmpeg failed: boom.")
    project_status_derive(project=project)
    body = api.get(f"/api/v1/projects/{project.id}").json()
    assert body["status"] == "ready"
    assert body["statusParts"] == [{"code": "first_render_failed", "why": "ffmpeg failed: boom"}]
    assert body["statusMessage"] == "The film could not be made (ffmpeg failed: boom). Render again."
