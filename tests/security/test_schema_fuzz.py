"""Every operation of the OpenAPI schema, fuzzed by schemathesis as a signed-in user whose
objects the requests name: no server error, every answer within the schema (status, type,
body). The same requests replayed as a second user leak nothing: nothing of the first user's
comes back, and nothing of theirs changes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from accounts.tokens import token_create
from projects.models import Member, Project, ShareLink, StoryboardSnapshot
from projects.sharing import link_token
from shots.models import ShotVersion
from storyvideo.wsgi import application
from tasks.models import Task
from tests.factories import CharacterFactory, ProjectFactory, ShotFactory, UserFactory

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = application


class World:
    """Two users; the first owns a project with a shot (and a version of its picture), a character,
    a task and an earlier storyboard."""

    def __init__(self) -> None:
        self.owner, self.stranger = UserFactory(), UserFactory()
        self.project = ProjectFactory(owner=self.owner)
        self.shot = ShotFactory(project=self.project)
        self.character = CharacterFactory(project=self.project)
        self.task = Task.objects.create(kind="image", project=self.project, shot=self.shot, owner=self.owner)
        self.version = ShotVersion.objects.create(
            shot=self.shot, stage="image", number=1, file="shots/image/earlier.png", hash="0" * 64, source="draft"
        )
        self.snapshot_ = StoryboardSnapshot.objects.create(project=self.project, reason="before", data={"shots": []})
        self.member = Member.objects.create(project=self.project, user=UserFactory(), role="viewer")
        self.link = ShareLink.objects.create(project=self.project, created_by=self.owner)
        self.tokens = {user.pk: token_create(user=user) for user in (self.owner, self.stranger)}
        self.reads: list[tuple[str, tuple[Any, ...]]] = []
        self.ids = {
            "project_id": str(self.project.id),
            "shot_id": str(self.shot.id),
            "character_id": str(self.character.id),
            "task_id": str(self.task.id),
            "version_id": str(self.version.id),
            "snapshot_id": str(self.snapshot_.id),
            "user_id": self.member.user_id,
            "link_id": str(self.link.id),
            "token": link_token(self.link),
        }

    def headers(self, user: Any) -> dict[str, str]:
        return {"Authorization": f"Token {self.tokens[user.pk]}"}

    def snapshot(self) -> tuple[Any, ...]:
        """What a stranger's request must never change: every row of the owner's project, its
        shots, characters, their versions, members and links, and how many projects the owner has.
        Read in SQL made once (the ORM would compile the same six queries for every request)."""
        if not self.reads:
            project = self.project
            self.reads = [
                query.query.sql_with_params()
                for query in (
                    Project.objects.filter(pk=project.pk).values(),
                    project.shots.values().order_by("id"),
                    project.characters.values().order_by("id"),
                    ShotVersion.objects.filter(shot__project=project).values().order_by("id"),
                    project.members.values().order_by("id"),
                    project.share_links.values().order_by("id"),
                    Project.objects.filter(owner=self.owner).values("id").order_by("id"),
                )
            ]
        rows = []
        with connection.cursor() as cursor:
            for sql, params in self.reads:
                cursor.execute(sql, params)
                rows.append(cursor.fetchall())
        return tuple(rows)


@pytest.fixture
def world(db: None) -> Iterator[World]:
    # The app is called through WSGI in this process: keep the test's database connection open
    # across requests, as Django's own test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield World()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_within_its_schema_and_leaks_nothing(case: Any, world: World) -> None:
    if case.path_parameters:
        case.path_parameters.update({k: v for k, v in world.ids.items() if k in case.path_parameters})
    before = world.snapshot()
    stranger = case.call(headers=world.headers(world.stranger))
    assert stranger.status_code < 500, stranger.text
    private = set(world.ids) - {"token"}  # a share link's token opens its film to anyone: that is what it is for
    if case.method != "OPTIONS" and case.path_parameters and set(case.path_parameters) & private:
        assert stranger.status_code in (400, 404, 405, 413, 415, 429), (stranger.status_code, stranger.text[:300])
    assert world.snapshot() == before, "a stranger's request changed the owner's objects"
    # Every answer is checked against the schema. Left out: schemathesis' guesses about which
    # requests should be accepted or refused. DRF reads "5" as 5 and 0 as "0" on purpose (forms
    # post strings), and rules a schema cannot say (a voice installed here, a character's name
    # unique in its project, ids of this project's shots) answer 400 by design.
    case.call_and_validate(
        headers=world.headers(world.owner), excluded_checks=[negative_data_rejection, positive_data_acceptance]
    )
