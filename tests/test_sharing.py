"""Roles and sharing: viewers watch and download, editors change, only the owner shares; a
signed, revocable link lets anyone watch the film."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from projects.models import Member, Project
from tasks.models import Task
from tests.browser import sign_in
from tests.factories import CharacterFactory, ProjectFactory, ShotFactory, UserFactory
from tests.test_live import connect, session_headers


def client_for(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def share(owner: APIClient, project: Project, username: str, role: str) -> None:
    answer = owner.post(f"/api/v1/projects/{project.id}/members", {"username": username, "role": role}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["role"] == role


def state(project: Project) -> tuple[Any, ...]:
    """What a refused request must leave as it was."""
    return (
        Project.objects.filter(pk=project.pk).values().first(),
        list(project.shots.values().order_by("id")),
        list(project.characters.values().order_by("id")),
        list(Task.objects.filter(project=project).values("id", "status").order_by("id")),
    )


@pytest.mark.django_db(transaction=True)
def test_a_viewer_reads_everything_and_every_write_answers_403(api: APIClient, rendered: Project) -> None:
    viewer, stranger = UserFactory(), UserFactory()
    shot = rendered.shots.order_by("order").first()
    assert shot is not None
    character = CharacterFactory(project=rendered)
    task = Task.objects.filter(project=rendered).first()
    assert task is not None
    share(api, rendered, viewer.username, "viewer")
    watcher, outsider = client_for(viewer), client_for(stranger)

    reads = [
        f"/api/v1/projects/{rendered.id}",
        f"/api/v1/projects/{rendered.id}/storyboard",
        f"/api/v1/projects/{rendered.id}/shots",
        f"/api/v1/projects/{rendered.id}/characters",
        f"/api/v1/projects/{rendered.id}/members",
        f"/api/v1/projects/{rendered.id}/usage",
        f"/api/v1/shots/{shot.id}",
        f"/api/v1/shots/{shot.id}/versions",
        f"/api/v1/characters/{character.id}",
        f"/api/v1/tasks/{task.id}",
        f"/api/v1/projects/{rendered.id}/exports/srt",
        f"/api/v1/projects/{rendered.id}/exports/video",
    ]
    for url in reads:
        assert watcher.get(url).status_code == 200, url
        assert outsider.get(url).status_code == 404, url  # the stranger is not told it exists
    listed = watcher.get("/api/v1/projects").json()["results"]
    assert [(p["id"], p["ownerId"]) for p in listed] == [(str(rendered.id), rendered.owner_id)]
    assert watcher.get(f"/api/v1/tasks?project={rendered.id}").json()["count"] >= 1

    before = state(rendered)
    writes = [
        ("patch", f"/api/v1/projects/{rendered.id}", {"title": "Mine now"}),
        ("delete", f"/api/v1/projects/{rendered.id}", None),
        ("post", f"/api/v1/projects/{rendered.id}/render", {"force": True}),
        ("post", f"/api/v1/projects/{rendered.id}/shots", {"narration": "More.", "prompt": "more"}),
        ("post", f"/api/v1/projects/{rendered.id}/shots/reorder", {"shotIds": [str(shot.id)]}),
        ("patch", f"/api/v1/shots/{shot.id}", {"narration": "Changed."}),
        ("delete", f"/api/v1/shots/{shot.id}", None),
        ("post", f"/api/v1/shots/{shot.id}/generate", {"stage": "image"}),
        ("patch", f"/api/v1/characters/{character.id}", {"description": "taller"}),
        ("post", f"/api/v1/tasks/{task.id}/retry", None),
        ("post", f"/api/v1/projects/{rendered.id}/members", {"username": stranger.username, "role": "editor"}),
        ("post", f"/api/v1/projects/{rendered.id}/links", None),
    ]
    for method, url, body in writes:
        answer = getattr(watcher, method)(url, body, format="json")
        assert answer.status_code == 403, (url, answer.status_code, answer.content)
        assert answer.json()["error"]["message"], url
        assert getattr(outsider, method)(url, body, format="json").status_code == 404, url
    assert state(rendered) == before
    assert (
        "viewer"
        in watcher.patch(f"/api/v1/shots/{shot.id}", {"narration": "x"}, format="json").json()["error"]["message"]
    )


@pytest.mark.django_db
def test_an_editor_changes_the_storyboard_but_only_the_owner_shares_or_deletes(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user, status="ready")
    shot = ShotFactory(project=project, narration="Before.")
    editor = UserFactory()
    share(api, project, editor.username, "editor")
    changer = client_for(editor)

    answer = changer.patch(f"/api/v1/shots/{shot.id}", {"narration": "After."}, format="json")
    assert answer.status_code == 200, answer.content
    shot.refresh_from_db()
    assert shot.narration == "After."
    for method, url, body in [
        ("delete", f"/api/v1/projects/{project.id}", None),
        ("post", f"/api/v1/projects/{project.id}/members", {"username": editor.username, "role": "editor"}),
        ("put", f"/api/v1/projects/{project.id}/webhook", {"url": "https://example.com/hook"}),
        ("post", f"/api/v1/projects/{project.id}/duplicate", None),
    ]:
        answer = getattr(changer, method)(url, body, format="json")
        assert answer.status_code == 403, (url, answer.content)
        assert answer.json()["error"]["message"] == "Only the project's owner may do this."
    assert Project.objects.filter(pk=project.pk).exists()

    # The editor's page has no owner's controls (translating makes a project of the owner's).
    browser = Client()
    browser.force_login(editor)
    assert b'id="translate-row" hidden' in browser.get(f"/projects/{project.id}/").content
    browser.force_login(user)
    assert b'id="translate-row">' in browser.get(f"/projects/{project.id}/").content

    # The owner takes the role back down, then away.
    share(api, project, editor.username, "viewer")
    assert changer.patch(f"/api/v1/shots/{shot.id}", {"narration": "Again."}, format="json").status_code == 403
    assert api.delete(f"/api/v1/projects/{project.id}/members/{editor.pk}").status_code == 204
    assert changer.get(f"/api/v1/projects/{project.id}").status_code == 404
    assert api.delete(f"/api/v1/projects/{project.id}/members/{editor.pk}").status_code == 404


@pytest.mark.django_db
def test_sharing_validates_its_input(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user)
    url = f"/api/v1/projects/{project.id}/members"
    nobody = api.post(url, {"username": "nobody-here", "role": "viewer"}, format="json")
    assert nobody.status_code == 400 and "nobody-here" in nobody.json()["error"]["fields"]["username"]
    assert api.post(url, {"username": user.username, "role": "viewer"}, format="json").status_code == 400
    other = UserFactory()
    assert api.post(url, {"username": other.username, "role": "owner"}, format="json").status_code == 400
    assert not Member.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_share_link_plays_the_film_for_anyone_until_it_is_revoked(api: APIClient, rendered: Project) -> None:
    made = api.post(f"/api/v1/projects/{rendered.id}/links")
    assert made.status_code == 201, made.content
    link = made.json()
    assert link["url"].endswith(f"/watch/{link['token']}/")
    assert [item["id"] for item in api.get(f"/api/v1/projects/{rendered.id}/links").json()] == [link["id"]]

    anyone = APIClient()
    film = anyone.get(f"/api/v1/shared/{link['token']}")
    assert film.status_code == 200, film.content
    assert film.json()["title"] == rendered.title
    assert film.json()["render"]["duration"] == pytest.approx(rendered.render_duration)
    video = Client().get(film.json()["render"]["videoUrl"])
    assert video.status_code == 200 and video["Content-Type"] == "video/mp4"
    page = Client().get(f"/watch/{link['token']}/")
    assert page.status_code == 200 and b"<video" in page.content
    # Nothing else is open to the link's holder.
    assert anyone.get(f"/api/v1/projects/{rendered.id}").status_code in (401, 403)

    altered = link["token"][:-1] + ("A" if link["token"][-1] != "A" else "B")
    assert anyone.get(f"/api/v1/shared/{altered}").status_code == 404
    assert api.delete(f"/api/v1/projects/{rendered.id}/links/{link['id']}").status_code == 204
    assert anyone.get(f"/api/v1/shared/{link['token']}").status_code == 404
    assert Client().get(f"/watch/{link['token']}/").status_code == 404
    assert api.get(f"/api/v1/projects/{rendered.id}/links").json() == []


@pytest.mark.django_db(transaction=True)
def test_a_viewer_may_follow_the_live_channel_and_a_stranger_may_not() -> None:
    owner, viewer, stranger = UserFactory(), UserFactory(), UserFactory()
    project = ProjectFactory(owner=owner)
    Member.objects.create(project=project, user=viewer, role="viewer")
    path = f"/ws/projects/{project.id}/"
    assert connect(path, session_headers(viewer))[0] is True
    assert connect(path, session_headers(stranger)) == (False, 4404)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_owner_shares_from_the_preview_page_and_the_viewer_watches_there(
    server: str, page: Any, rendered: Project, browser: Any
) -> None:
    viewer = UserFactory()
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/preview/")
    assert page.title() == f"{rendered.title} · preview · StoryVideo"
    page.fill("#sharing input[name=username]", viewer.username)
    page.select_option("#sharing select[name=role]", "viewer")
    page.click("#sharing button:has-text('Share')")
    page.wait_for_selector(f"#sharing .members .who:has-text('{viewer.username}')")
    page.click("#sharing button:has-text('Make a link')")
    link = page.locator("#sharing .share-url").input_value()
    assert "/watch/" in link
    assert Member.objects.get(project=rendered).user == viewer

    # The viewer is sent from the editor to the film, and sees no editing.
    watcher = browser.new_context().new_page()
    sign_in(watcher, server, viewer.username)
    watcher.goto(f"{server}/projects/{rendered.id}/")
    watcher.wait_for_url(f"**/projects/{rendered.id}/preview/")
    assert watcher.locator("#sharing").count() == 0
    assert watcher.locator("text=Back to the editor").count() == 0

    # Someone with no account plays the film from the link, to its end.
    anyone = browser.new_context().new_page()
    anyone.goto(link)
    duration = anyone.wait_for_function(
        "() => { const v = document.querySelector('#film'); return v && v.readyState >= 1 && v.duration; }"
    ).json_value()
    assert duration == pytest.approx(rendered.render_duration, abs=0.1)
    page.click("#sharing .links button:has-text('Revoke')")
    page.wait_for_selector("#sharing .share-url", state="detached")
    assert anyone.goto(link).status == 404
