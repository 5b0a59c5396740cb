"""Issue 25, finding 12: API tokens are kept hashed (the key is shown once), and what matters for
security is written to an audit log staff read in the admin."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiToken, AuditEvent
from projects.models import Project
from tasks.models import Quota
from tests.clients import CommittingAPIClient
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"


def exchange(username: str, password: str = PASSWORD) -> Any:
    return CommittingAPIClient().post("/api/v1/auth/token", {"username": username, "password": password}, format="json")


def test_a_token_is_kept_as_its_digest_works_until_revoked_and_the_database_opens_nothing() -> None:
    user = UserFactory()
    key = exchange(user.username).json()["token"]
    stored = ApiToken.objects.get(user=user)
    assert stored.digest == hashlib.sha256(key.encode()).hexdigest() and stored.prefix == key[:8]
    with connection.cursor() as cursor:  # nowhere in the tables is the key itself
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 - the model's table
        assert key not in repr(cursor.fetchall())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/projects").status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {stored.digest[:40]}")  # the digest is no key
    assert client.get("/api/v1/projects").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.delete("/api/v1/auth/token").status_code == 204
    assert client.get("/api/v1/projects").status_code == 401
    assert not ApiToken.objects.filter(user=user).exists()


def test_a_user_holds_at_most_api_tokens_per_user_and_the_oldest_go(settings: Any) -> None:
    settings.API_TOKENS_PER_USER = 2
    user = UserFactory()
    keys = [exchange(user.username).json()["token"] for _ in range(3)]
    client = APIClient()
    answers = []
    for key in keys:
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        answers.append(client.get("/api/v1/projects").status_code)
    assert answers == [401, 200, 200]


def test_what_matters_for_security_is_audited_with_who_and_from_where(settings: Any) -> None:
    owner, friend = UserFactory(), UserFactory()
    exchange(owner.username, "wrong-password")
    key = exchange(owner.username).json()["token"]
    api = CommittingAPIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    project = ProjectFactory(owner=owner)
    assert api.post(
        f"/api/v1/projects/{project.id}/members", {"username": friend.username, "role": "viewer"}, format="json"
    ).status_code in (200, 201)
    assert api.delete(f"/api/v1/projects/{project.id}/members/{friend.id}").status_code == 204
    link = api.post(f"/api/v1/projects/{project.id}/links", format="json").json()
    assert api.delete(f"/api/v1/projects/{project.id}/links/{link['id']}").status_code == 204
    assert api.delete(f"/api/v1/projects/{project.id}").status_code == 204
    page = Client()
    assert page.login(username=friend.username, password=PASSWORD)
    page.logout()
    jwt = CommittingAPIClient().post(
        "/api/v1/auth/jwt", {"username": friend.username, "password": PASSWORD}, format="json"
    )
    assert jwt.status_code == 200

    events = list(AuditEvent.objects.order_by("at", "id").values_list("action", "actor_name", "target"))
    assert events == [
        ("sign_in_failed", "", owner.username),
        ("token_created", owner.username, f"token {key[:8]}"),
        ("member_set", owner.username, f"project {project.id}"),
        ("member_removed", owner.username, f"project {project.id}"),
        ("link_created", owner.username, f"project {project.id}"),
        ("link_revoked", owner.username, f"project {project.id}"),
        ("project_deleted", owner.username, f"project {project.id}"),
        ("sign_in", friend.username, ""),
        ("sign_out", friend.username, ""),
        ("jwt_created", friend.username, ""),
    ]
    assert AuditEvent.objects.filter(action="token_created").get().address == "127.0.0.1"

    # Staff read it in the admin, and their own actions there are in it too.
    staff = UserFactory(is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    listing = admin.get("/admin/accounts/auditevent/")
    assert listing.status_code == 200 and "project_deleted" in listing.content.decode()
    assert admin.post(f"/admin/auth/user/{friend.id}/delete/", {"post": "yes"}).status_code == 302
    assert AuditEvent.objects.filter(action="staff_action", actor_name=staff.username).exists()
    assert admin.get("/admin/accounts/auditevent/add/").status_code == 403, "the log is only read"
    Quota.objects.create(user=owner, active_tasks=5)  # an operator's change, however it is made
    assert AuditEvent.objects.filter(action="quota_changed", target=f"user {owner.id}").get().detail == {
        "active_tasks": 5,
        "projects_per_hour": None,
    }


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_the_tokens_drf_kept_in_the_clear_and_they_go_on_working() -> None:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0001_initial")])
    before = executor.loader.project_state(
        [("accounts", "0001_initial"), ("authtoken", "0004_alter_tokenproxy_options")]
    ).apps
    user = UserFactory()
    key = before.get_model("authtoken", "Token").objects.create(user_id=user.pk, key="k" * 40).key
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    from rest_framework.authtoken.models import Token

    assert not Token.objects.exists(), "no key is left in the clear"
    assert ApiToken.objects.get(user=user).digest == hashlib.sha256(key.encode()).hexdigest()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/projects").status_code == 200


def test_a_webhook_secret_is_kept_encrypted_and_read_back_plain(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user)
    answer = api.put(f"/api/v1/projects/{project.id}/webhook", {"url": "https://93.184.215.14/hook"}, format="json")
    assert answer.status_code == 200, answer.content
    secret = answer.json()["secret"]
    key = Project._meta.pk.get_db_prep_value(project.pk, connection)  # a UUID as this database keeps it
    assert len(secret) == 64
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT webhook_secret FROM {project._meta.db_table} WHERE id = %s", [key])  # noqa: S608
        (stored,) = cursor.fetchone()
    assert stored.startswith("fernet:") and secret not in stored
    project.refresh_from_db()
    assert project.webhook_secret == secret
    # A secret written before it was encrypted (the migration encrypts those) still reads back.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {project._meta.db_table} SET webhook_secret = %s WHERE id = %s", ["s" * 64, key])  # noqa: S608
    project.refresh_from_db()
    assert project.webhook_secret == "s" * 64
