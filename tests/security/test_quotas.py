"""Finding 4: per-user limits kept in the database answer 429 with Retry-After, and one
user's backlog does not hold up another user's first task by more than one task's run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from projects.models import Member, Project
from tasks import services
from tasks.models import Quota, Task
from tasks.throttles import GenerationRateThrottle
from tests.factories import ProjectFactory, ShotFactory, UserFactory
from tests.workers import wait_for, workers

S = Task.Status
STORY = {"story": "The cat found a lamp. The lamp lit the sea.", "autoRender": False}


@pytest.mark.django_db
def test_projects_per_hour_are_limited_per_user_in_the_database(
    api: APIClient, other_api: APIClient, user: Any, settings: Any
) -> None:
    settings.QUOTA_PROJECTS_PER_HOUR = 3
    answers = [api.post("/api/v1/projects", STORY, format="json") for _ in range(4)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    refused = answers[-1]
    assert 3500 <= int(refused["Retry-After"]) <= 3600
    assert refused.json()["error"]["code"] == "throttled"
    assert "3 projects in the last hour" in refused.json()["error"]["message"]
    assert Project.objects.filter(owner=user).count() == 3
    assert api.post("/api/v1/projects/import", {}, format="multipart").status_code == 429  # imports count too
    assert other_api.post("/api/v1/projects", STORY, format="json").status_code == 202  # others are not held
    assert api.get("/api/v1/projects").status_code == 200  # reads never are

    # The page's form answers the same, in words.
    page = Client()
    page.force_login(user)
    fields = {"story": STORY["story"], "style": "storybook", "aspect_ratio": "16:9", "resolution": "480p"}
    form = page.post("/projects/new/", {**fields, "shot_count": 3})
    assert form.status_code == 429 and "3 projects in the last hour" in form.content.decode()

    Quota.objects.create(user=user, projects_per_hour=10)  # an operator raises this user's limit
    assert api.post("/api/v1/projects", STORY, format="json").status_code == 202


@pytest.mark.django_db
def test_tasks_waiting_or_running_at_once_are_limited_per_user(api: APIClient, user: Any) -> None:
    Quota.objects.create(user=user, active_tasks=2)
    project = ProjectFactory(owner=user)
    shots = [ShotFactory(project=project) for _ in range(2)]
    for shot in shots:
        assert api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "image"}, format="json").status_code == 202
    refused = api.post(f"/api/v1/shots/{shots[0].id}/generate", {"stage": "speech"}, format="json")
    assert refused.status_code == 429 and refused["Retry-After"] == "30"
    assert "2 tasks waiting or running" in refused.json()["error"]["message"]
    task = Task.objects.filter(owner=user).first()
    assert task is not None
    assert api.post(f"/api/v1/tasks/{task.id}/cancel").status_code == 200  # cancelling is never held back
    assert api.post(f"/api/v1/shots/{shots[0].id}/generate", {"stage": "speech"}, format="json").status_code == 202


@pytest.mark.django_db
def test_work_asked_for_on_a_shared_project_counts_against_its_owner(api: APIClient, user: Any) -> None:
    Quota.objects.create(user=user, active_tasks=1)
    project = ProjectFactory(owner=user)
    shot = ShotFactory(project=project)
    editor = UserFactory()
    Member.objects.create(project=project, user=editor, role="editor")
    shared = APIClient()
    shared.force_authenticate(editor)
    assert api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "image"}, format="json").status_code == 202
    refused = shared.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "speech"}, format="json")
    assert refused.status_code == 429, refused.content
    assert refused.json()["error"]["message"].startswith("The project's owner has 1 tasks waiting or running")
    refused = shared.patch(f"/api/v1/projects/{project.id}", {"animate": True}, format="json")
    assert refused.status_code == 429, "animating asks for a clip of every shot"
    project.refresh_from_db()
    assert not project.animate, "a refused edit changes nothing"
    # A new look supersedes the picture on its way rather than adding one: no more work at once.
    assert shared.patch(f"/api/v1/projects/{project.id}", {"style": "watercolor"}, format="json").status_code == 200
    # The editor's own projects are theirs: the owner's backlog does not hold them.
    own = ShotFactory(project=ProjectFactory(owner=editor))
    assert shared.post(f"/api/v1/shots/{own.id}/generate", {"stage": "image"}, format="json").status_code == 202
    # A stranger is told nothing of the owner's backlog: the shot is not found.
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "speech"}, format="json").status_code == 404
    assert Task.objects.filter(owner=user, status__in=Task.UNFINISHED).count() == 1


@pytest.mark.django_db
def test_generation_requests_are_rate_limited(api: APIClient, user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(GenerationRateThrottle, "THROTTLE_RATES", {"generate": "3/minute"})
    shot = ShotFactory(project=ProjectFactory(owner=user))
    answers = [
        api.patch(f"/api/v1/shots/{shot.id}", {"prompt": f"a lamp {i}"}, format="json").status_code for i in range(4)
    ]
    assert answers == [200, 200, 200, 429]
    assert api.get(f"/api/v1/shots/{shot.id}").status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_one_users_backlog_does_not_hold_up_anothers_first_task(tmp_path: Path) -> None:
    busy, newcomer = UserFactory(), UserFactory()
    backlog = []
    for _ in range(8):  # eight one-shot projects: eight runs, none batched with another
        shot = ShotFactory(project=ProjectFactory(owner=busy), prompt="test:quiet:0.7")
        backlog.append(services.task_create(kind="image", project=shot.project, shot=shot, params={"version": 1}))
    assert Task.objects.filter(owner=busy).exclude(job_id="").count() == 1, "one of the backlog on the queue"
    with workers(tmp_path, "inference"):
        wait_for(lambda: Task.objects.filter(owner=busy, status=S.FINISHED).count() >= 2, what="the backlog to run")
        shot = ShotFactory(project=ProjectFactory(owner=newcomer), prompt="test:quiet:0.1")
        first = services.task_create(kind="image", project=shot.project, shot=shot, params={"version": 1})
        wait_for(lambda: Task.objects.get(pk=first.pk).status == S.FINISHED, timeout=60, what="the newcomer's task")
        first.refresh_from_db()
        assert first.started_at is not None
        started_meanwhile = Task.objects.filter(
            owner=busy, started_at__gt=first.created_at, started_at__lt=first.started_at
        ).count()
        assert started_meanwhile <= 1, "at most the one task already on the queue ran first"
        wait_for(
            lambda: Task.objects.filter(owner=busy, status=S.FINISHED).count() == 8, timeout=90, what="the backlog"
        )


@pytest.mark.django_db(transaction=True)  # the requests race on connections of their own
def test_concurrent_creations_take_exactly_the_allowance_and_deletes_give_none_back(user: Any) -> None:
    """60 creations at once against 30 an hour once made 42 (each checked before any was made),
    and deleting projects gave the hour's allowance back."""
    import threading

    from django.db import connections

    from tests.clients import CommittingAPIClient

    Quota.objects.create(user=user, projects_per_hour=30)
    answers: list[object] = []
    start = threading.Barrier(60)

    def create() -> None:
        client = CommittingAPIClient()
        client.force_authenticate(user)
        try:
            start.wait(timeout=30)
            answers.append(client.post("/api/v1/projects", STORY, format="json").status_code)
        except Exception as error:  # what would have been a 500
            answers.append(repr(error))
        finally:
            connections.close_all()

    crowd = [threading.Thread(target=create) for _ in range(60)]
    for thread in crowd:
        thread.start()
    for thread in crowd:
        thread.join()
    assert sorted(answers, key=str) == [202] * 30 + [429] * 30, answers
    assert Project.objects.filter(owner=user).count() == 30

    api = CommittingAPIClient()
    api.force_authenticate(user)
    for project in Project.objects.filter(owner=user)[:10]:
        assert api.delete(f"/api/v1/projects/{project.id}").status_code == 204
    assert api.post("/api/v1/projects", STORY, format="json").status_code == 429, "a delete gave the allowance back"


@pytest.mark.django_db(transaction=True)  # the requests race on connections of their own
def test_concurrent_requests_for_work_take_exactly_the_active_task_limit(user: Any) -> None:
    """The limit was checked before each request, so 20 at once against a limit of 2 all passed
    it (17 active tasks once); it is now taken where the tasks are made, one request at a time."""
    import threading

    from django.db import connections

    from tests.clients import CommittingAPIClient

    Quota.objects.create(user=user, active_tasks=2)
    project = ProjectFactory(owner=user)
    shots = [ShotFactory(project=project) for _ in range(20)]
    answers: list[object] = []
    start = threading.Barrier(len(shots))

    def generate(shot: Any) -> None:
        client = CommittingAPIClient()
        client.force_authenticate(user)
        try:
            start.wait(timeout=30)
            answers.append(
                client.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "image"}, format="json").status_code
            )
        except Exception as error:  # what would have been a 500
            answers.append(repr(error))
        finally:
            connections.close_all()

    crowd = [threading.Thread(target=generate, args=(shot,)) for shot in shots]
    for thread in crowd:
        thread.start()
    for thread in crowd:
        thread.join()
    assert sorted(answers, key=str) == [202] * 2 + [429] * 18, answers
    assert Task.objects.filter(owner=user, status__in=Task.UNFINISHED).count() == 2


@pytest.mark.django_db
def test_renames_and_deletes_are_never_held_back_nor_counted_by_work_limits(
    api: APIClient, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GenerationRateThrottle, "THROTTLE_RATES", {"generate": "2/minute"})
    Quota.objects.create(user=user, active_tasks=1)
    project = ProjectFactory(owner=user)
    first, second, third = (ShotFactory(project=project) for _ in range(3))
    for number in range(5):  # renames make no work: they do not use up the rate
        renamed = api.patch(f"/api/v1/projects/{project.id}", {"title": f"Take {number}"}, format="json")
        assert renamed.status_code == 200, renamed.content
    assert api.post(f"/api/v1/shots/{first.id}/generate", {"stage": "image"}, format="json").status_code == 202
    # At the active-task limit: asking for more is refused, and the refused edit is not kept ...
    refused = api.patch(f"/api/v1/shots/{second.id}", {"prompt": "a lamp at night"}, format="json")
    assert refused.status_code == 429 and refused["Retry-After"] == "30", refused.content
    second.refresh_from_db()
    assert second.prompt != "a lamp at night"
    # ... while renaming, deleting a shot and deleting the project are not held back.
    assert api.patch(f"/api/v1/projects/{project.id}", {"title": "Final"}, format="json").status_code == 200
    assert api.delete(f"/api/v1/shots/{third.id}").status_code == 204
    assert api.delete(f"/api/v1/projects/{project.id}").status_code == 204
    # The rate counted the one request that made work: one more is allowed, then no more.
    Quota.objects.filter(user=user).update(active_tasks=10)
    more = [ShotFactory(project=ProjectFactory(owner=user)) for _ in range(2)]
    answers = [api.post(f"/api/v1/shots/{s.id}/generate", {"stage": "image"}, format="json") for s in more]
    assert [a.status_code for a in answers] == [202, 429]
    assert "throttled" in answers[1].json()["error"]["message"]
