"""The pages tell the truth: what the editor and the new-film page show against what the
server knows (issue 11). Debian's Chromium on a live ASGI server; projects are made with the
factories and, where a test needs them, real workers."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from projects.models import Project
from tests.browser import sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_story_over_the_limit_is_counted_kept_whole_and_refused_once(server: str, page: Any) -> None:
    user = UserFactory()
    limit = settings.STORY_MAX_CHARS
    story = "月光照在小兔子的窗台上。" * (2 * limit // 12 + 1)  # twice the limit, CJK
    sign_in(page, server, user.username)
    page.goto(f"{server}/projects/new/")
    counter = page.locator("#story-count")
    assert counter.inner_text() == f"0 of {limit:,} characters"

    page.fill("#id_story", story)  # as a paste: no maxlength cuts it
    assert page.eval_on_selector("#id_story", "box => Array.from(box.value).length") == len(story)
    over = len(story) - limit
    assert counter.inner_text().startswith(f"{len(story):,} of {limit:,} characters: {over:,} too many.")
    assert counter.get_attribute("data-over") == "true"

    page.click("main button[type=submit]")
    errors = page.locator(".error")
    assert errors.count() == 1, errors.all_inner_texts()
    assert errors.inner_text() == (
        f"The story has {len(story):,} characters; a film takes at most {limit:,}. Nothing was cut: "
        f"shorten it by {over:,} characters or make two films of it."
    )
    assert page.eval_on_selector("#id_story", "box => Array.from(box.value).length") == len(story)
    assert not Project.objects.filter(owner=user).exists()


def test_the_api_refuses_a_long_story_with_the_same_one_message(api: Any) -> None:
    limit = settings.STORY_MAX_CHARS
    response = api.post("/api/v1/projects", {"story": "a" * (limit + 5)}, format="json")
    assert response.status_code == 400, response.content
    story = response.json()["error"]["fields"]["story"]
    assert story == (
        f"The story has {limit + 5:,} characters; a film takes at most {limit:,}. Nothing was cut: "
        "shorten it by 5 characters or make two films of it."
    )


def test_the_api_docs_render_with_nothing_from_outside(server: str, page: Any) -> None:
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:  # as on a machine with no internet
            outside.append(f"{route.request.resource_type} {route.request.url}")
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(f"{server}/api/v1/docs")
    page.wait_for_selector("h1:has-text('StoryVideo API')", timeout=20_000)  # drawn by Redoc from the schema
    assert page.get_by_text("/api/v1/projects").count() > 0
    # Redoc's footer logo (an image that hides itself when it cannot load) is all it asks of the web.
    assert outside == ["image https://cdn.redoc.ly/redoc/logo-mini.svg"]
