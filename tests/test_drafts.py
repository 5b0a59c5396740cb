"""What ran is said from what the workers recorded, whenever a draft stood in (issue 11, item 2):
the storyboard read (the editor's notice), the system API, and the configured report when the
model hub cannot be reached."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.factories import DRAFT_WHY as WHY
from tests.factories import drafted_project, finished

pytestmark = pytest.mark.django_db


def test_the_storyboard_read_names_each_draft_that_ran(api: Any, user: Any) -> None:
    project = drafted_project(user)
    drafts = api.get(f"/api/v1/projects/{project.id}/storyboard").json()["drafts"]
    assert drafts == [
        {
            "stage": "storyboard",
            "runs": "draft",
            "spec": "transformers:Qwen/Qwen2.5-0.5B-Instruct",
            "reason": "no weights here",
            "reasonParts": [],  # words only: not one of the sentences a page can say in its language
        },
        {
            "stage": "pictures",
            "runs": "draft",
            "spec": "diffusers:stabilityai/sd-turbo",
            "reason": WHY,
            "reasonParts": [{"code": "weights_offline", "model": "stabilityai/sd-turbo", "setting": "HF_HUB_OFFLINE"}],
        },
    ]
    # A newer picture from the real model: pictures are no longer a draft.
    finished(project, "image", {"note": ""}, shot=project.shots.get(), backend="diffusers", model="sd-turbo")
    stages = [d["stage"] for d in api.get(f"/api/v1/projects/{project.id}/storyboard").json()["drafts"]]
    assert stages == ["storyboard"]


def test_the_system_api_says_what_last_ran(api: Any, user: Any, other_api: Any) -> None:
    drafted_project(user)
    ran = {entry["stage"]: entry for entry in api.get("/api/v1/system").json()["lastRan"]}
    assert ran["pictures"]["draft"] is True and ran["pictures"]["reason"] == WHY
    assert ran["voices"] == {**ran["voices"], "draft": False, "runs": "piper:zh_CN-huayan-medium", "reason": ""}
    assert other_api.get("/api/v1/system").json()["lastRan"] == [], "another user's tasks are not theirs"


def test_the_configured_report_says_draft_when_the_hub_cannot_be_reached(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # nothing listens there: the hub is out of reach
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    configured = {entry["stage"]: entry for entry in api.get("/api/v1/system").json()["configured"]}
    image = configured["image"]
    assert image["runs"] == "draft" and image["runs"] != image["spec"]
    assert "cannot be reached" in image["reason"]
