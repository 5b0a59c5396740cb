"""The operators' task pages (issue 11, Admin): read only, the message in the list, superseded
work apart from failures, retry and cancel on a task's own page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tasks.models import Task
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def task(**fields: Any) -> Task:
    return Task.objects.create(kind="image", project=ProjectFactory(), **fields)


def test_the_list_shows_messages_and_keeps_superseded_work_apart(operator: Client) -> None:
    failed = task(status="failed", message="espeak-ng exited with status 1.")
    superseded = task(status="cancelled", message="Superseded by a newer edit; its result was discarded.")
    cancelled = task(status="cancelled", message="Cancelled by the user.")
    page = operator.get("/admin/tasks/task/").content.decode()
    assert "espeak-ng exited with status 1." in page

    def listed(outcome: str) -> set[str]:
        body = operator.get(f"/admin/tasks/task/?outcome={outcome}").content.decode()
        return {str(t.pk) for t in (failed, superseded, cancelled) if str(t.pk) in body}

    assert listed("failed") == {str(failed.pk)}
    assert listed("superseded") == {str(superseded.pk)}
    assert listed("cancelled") == {str(cancelled.pk)}


def test_a_task_page_is_read_only_and_retries_or_cancels_in_place(operator: Client) -> None:
    assert operator.get("/admin/tasks/task/add/").status_code == 403
    assert "Add task" not in operator.get("/admin/tasks/task/").content.decode()

    failed = task(status="failed", message="It broke.")
    page = operator.get(f"/admin/tasks/task/{failed.pk}/change/").content.decode()
    assert 'name="_save"' not in page and "Retry" in page and ">Cancel<" not in page
    assert operator.get(f"/admin/tasks/task/{failed.pk}/retry/").status_code == 405, "only a POST retries"
    response = operator.post(f"/admin/tasks/task/{failed.pk}/retry/", follow=True)
    failed.refresh_from_db()
    assert failed.status == "pending" and "The task is queued again." in response.content.decode()

    page = operator.get(f"/admin/tasks/task/{failed.pk}/change/").content.decode()
    assert ">Cancel<" in page and ">Retry<" not in page
    operator.post(f"/admin/tasks/task/{failed.pk}/cancel/")
    failed.refresh_from_db()
    assert failed.status == "cancelled" and failed.message == "Cancelled by an operator."
    again = operator.post(f"/admin/tasks/task/{failed.pk}/cancel/", follow=True).content.decode()
    assert "there is nothing to cancel" in again


def test_only_staff_reach_the_buttons() -> None:
    client = Client()
    client.force_login(UserFactory())
    failed = task(status="failed")
    assert client.post(f"/admin/tasks/task/{failed.pk}/retry/").status_code == 302  # to the admin's sign-in
    failed.refresh_from_db()
    assert failed.status == "failed"
