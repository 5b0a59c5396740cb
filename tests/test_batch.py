"""Issue 14, batches through the API: ``POST /api/v1/projects/batch`` makes several projects in
one request, every one checked first, all made or none."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from projects.models import Project
from tasks.models import Quota, Task
from tests.clients import CommittingAPIClient

pytestmark = pytest.mark.django_db
STORIES = [
    {"story": "The keeper lit the lamp. A ship came home.", "shotCount": 2},
    {"story": "月亮上的小兔子提着灯笼。它回家了。", "title": "月兔", "resolution": "480p"},
    {"story": "A fox found a bell. The bell rang all night.", "style": "watercolor", "aspectRatio": "9:16"},
]


def test_a_batch_makes_every_project_and_queues_each_storyboard(api: APIClient, user: Any) -> None:
    response = api.post("/api/v1/projects/batch", {"projects": STORIES}, format="json")
    assert response.status_code == 202, response.content
    made = response.json()["projects"]
    assert [item["project"]["title"] for item in made][1] == "月兔"
    assert [item["project"]["language"] for item in made] == ["en", "zh", "en"]
    assert [(item["project"]["style"], item["project"]["aspectRatio"]) for item in made][2] == ("watercolor", "9:16")
    projects = Project.objects.filter(owner=user)
    assert sorted(str(p.id) for p in projects) == sorted(item["project"]["id"] for item in made)
    for item in made:
        [task] = item["tasks"]
        assert task["kind"] == "storyboard"
        assert Task.objects.get(pk=task["id"]).project_id is not None


@pytest.mark.parametrize(
    ("projects", "field"),
    [
        ([STORIES[0], {"story": ""}, STORIES[2]], "projects[1].story"),
        ([STORIES[0], {"story": "x", "shotCount": "many"}], "projects[1].shotCount"),
        ([STORIES[0], {"story": "x", "shot_count": 3}], "projects[1].shot_count"),
        ([], "projects"),
        ([STORIES[0]] * 21, "projects"),
        ("not a list", "projects"),
    ],
    ids=["a blank story", "a wrong type", "an unknown field", "none", "more than PROJECT_BATCH_MAX", "not a list"],
)
def test_one_wrong_project_makes_none_and_is_named(api: APIClient, user: Any, projects: Any, field: str) -> None:
    response = api.post("/api/v1/projects/batch", {"projects": projects}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error
    assert field in error["message"]
    assert not Project.objects.filter(owner=user).exists()
    assert not Task.objects.exists()


def test_a_batch_past_the_hourly_allowance_makes_none_and_says_when(api: APIClient, user: Any) -> None:
    Quota.objects.create(user=user, projects_per_hour=4)
    assert api.post("/api/v1/projects", STORIES[0], format="json").status_code == 202
    assert api.post("/api/v1/projects", STORIES[1], format="json").status_code == 202
    response = api.post("/api/v1/projects/batch", {"projects": STORIES}, format="json")  # 2 + 3 > 4
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) > 3000
    assert "2 projects in the last hour, of 4 allowed: 3 more may be made in" in response.json()["error"]["message"]
    assert Project.objects.filter(owner=user).count() == 2
    assert api.post("/api/v1/projects/batch", {"projects": STORIES[:2]}, format="json").status_code == 202
    assert Project.objects.filter(owner=user).count() == 4


def test_a_batch_needs_an_account() -> None:
    response = CommittingAPIClient().post("/api/v1/projects/batch", {"projects": STORIES}, format="json")
    assert response.status_code == 401
    assert not Project.objects.exists()
