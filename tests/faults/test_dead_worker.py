"""A dead worker is seen as gone within WORKER_PRESENCE_TTL_S, by the API and the system API
(issue 11, item 4); the editor's notice is in tests/test_editor_truth.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.workers import wait_for, workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def test_a_killed_worker_drops_out_of_the_counts_within_the_presence_ttl(tmp_path: Path) -> None:
    staff = APIClient()
    staff.force_authenticate(UserFactory(is_staff=True))

    def media_workers() -> tuple[int, int, list[Any]]:
        system = staff.get("/api/v1/system").json()
        named = [w for w in system["workers"] if "media" in w["queues"]]
        return staff.get("/api/v1/workers").json()["media"]["workers"], system["queues"]["media"]["workers"], named

    with workers(tmp_path, "media") as (worker,):
        wait_for(lambda: media_workers()[:2] == (1, 1) and len(media_workers()[2]) == 1, timeout=30, what="it")
        assert staff.get("/api/v1/workers").json()["media"]["kinds"] == ["clips", "compose", "webhook"]
        worker.kill()
        wait_for(
            lambda: media_workers() == (0, 0, []),
            timeout=settings.WORKER_PRESENCE_TTL_S + 5,
            what="the dead worker to drop out",
        )
