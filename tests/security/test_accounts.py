"""Findings 9 and 10: sign-in is throttled everywhere by an address a client cannot choose,
sign-up does not tell who has an account, production settings pass Django's deploy checks, and
the system endpoint shows others no names, depths or addresses."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.workers import ROOT

pytestmark = pytest.mark.django_db


def test_the_token_throttle_cannot_be_dodged_with_a_forwarded_for_header(user: Any) -> None:
    client = APIClient()
    answers = [
        client.post(
            "/api/v1/auth/token",
            {"username": user.username, "password": "wrong"},
            format="json",
            HTTP_X_FORWARDED_FOR=f"10.{i}.{i}.{i}",
        ).status_code
        for i in range(22)
    ]
    assert answers[:20] == [401] * 20
    assert answers[20:] == [429, 429]


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_sign_in_forms_are_throttled(user: Any, path: str) -> None:
    client = Client()
    answers = [client.post(path, {"username": user.username, "password": f"guess-{i}"}).status_code for i in range(11)]
    assert answers[:10] == [200] * 10  # the form again, with its error
    refused = client.post(path, {"username": user.username, "password": "a-long-test-password"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many sign-in attempts" in refused.content.decode()


def test_sign_up_answers_the_same_for_a_name_in_use(settings: Any) -> None:
    settings.ALLOW_SIGNUP = True
    UserFactory(username="ada")
    client = APIClient()
    for name in ("ada", "ADA"):
        response = client.post("/api/v1/auth/signup", {"username": name, "password": "x7!kq-long-pass"}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["fields"]["username"] == "This username cannot be used; choose another."
        assert "taken" not in response.content.decode()


def test_the_system_endpoint_shows_others_no_names_depths_or_addresses(settings: Any, user: Any) -> None:
    settings.STORYBOARD_MODEL = "openai:http://10.20.30.40:8000/v1#qwen2.5"
    api = APIClient()
    api.force_authenticate(user)
    body = api.get("/api/v1/system").json()
    text = str(body)
    assert "10.20.30.40" not in text
    assert body["workers"] == []
    assert all(set(q) == {"workers"} for q in body["queues"].values())
    storyboard = next(e for e in body["configured"] if e["stage"] == "storyboard")
    assert storyboard["spec"] == "openai:qwen2.5"

    staff = UserFactory(is_staff=True)
    api.force_authenticate(staff)
    full = api.get("/api/v1/system").json()
    assert {"queued", "running", "workers"} <= set(full["queues"]["inference"])
    assert next(e for e in full["configured"] if e["stage"] == "storyboard")["spec"].startswith(
        "openai:http://10.20.30.40:8000/v1"
    )


def deploy_check(var: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HTTPS", "SECURE_"))}
    clean.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="storyvideo.example",
        STORYVIDEO_VAR_DIR=str(var),
        REDIS_URL=settings.REDIS_URL,  # the test run's Redis: no embedded one is started and left behind
        **env,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_pass_the_deploy_checks_with_https_on(tmp_path: Path) -> None:
    plain = deploy_check(tmp_path)
    assert plain.returncode != 0 and "W008" in plain.stderr  # the checks are real: without HTTPS they warn
    served = deploy_check(tmp_path, HTTPS="true", TRUSTED_PROXIES="1")
    assert served.returncode == 0, served.stderr
