"""The API client of the tests.

Most tests run inside a transaction that is rolled back at their end, so nothing they do is ever
committed, and what the application does after a commit (enqueue a task, publish a live update,
release a file no row names any more) would never run. This client runs it as each request
ends, as the request's own commit would have; in a test that commits for real (one that starts
processes) there is nothing left to run by then, and it is the plain client."""

from __future__ import annotations

from typing import Any

from django.test import TestCase
from rest_framework.test import APIClient


class CommittingAPIClient(APIClient):
    def request(self, **kwargs: Any) -> Any:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().request(**kwargs)
