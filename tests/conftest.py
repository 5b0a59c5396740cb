from __future__ import annotations

import os
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """In CI a skipped test is a failed test, except one marked gpu (CI has no GPU)."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and item.get_closest_marker("gpu") is None:
        report.outcome = "failed"
        report.longrepr = f"Skipped in CI, which is not allowed: {report.longrepr}"


@pytest.fixture(scope="session", autouse=True)
def _clean_redis(django_db_blocker: Any) -> None:
    """Start each run with an empty Redis database: the tests' queues, locks and channels.
    (make test points at var/test's embedded Redis, CI at its own server.)"""
    from tasks.queues import get_redis

    get_redis().flushdb()


@pytest.fixture
def user(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def other_user(db: Any) -> Any:
    return UserFactory()


@pytest.fixture
def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def other_api(other_user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(other_user)
    return client


@pytest.fixture
def stories_dir() -> str:
    from django.conf import settings

    return os.environ.get("STORIES_DIR", str(settings.BASE_DIR.parent / "shared" / "stories"))
