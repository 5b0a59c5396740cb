"""The storyboard editor in a real browser (Debian's Chromium driven by Playwright), against a
live ASGI server and real workers on the test database."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from projects.models import Project
from shots.models import Shot
from tests.browser import shot_menu, sign_in
from tests.factories import UserFactory
from tests.workers import wait_for, workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.browser]


def settled(page: Any, shots: int) -> bool:
    return (
        page.locator(".shot .keyframe[src]").count() == shots
        and page.locator(".stage-status[data-state=busy]").count() == 0
    )


def card_ids(page: Any) -> list[str]:
    return page.locator(".shot").evaluate_all("cards => cards.map(card => card.dataset.shotId)")


def test_a_story_is_edited_reordered_rendered_and_downloaded_in_the_browser(
    server: str, page: Any, browser: Any, tmp_path: Path, stories_dir: str
) -> None:
    owner, stranger = UserFactory(), UserFactory()
    story = (Path(stories_dir) / "moon-rabbit.zh.txt").read_text(encoding="utf-8")
    with workers(tmp_path, "inference language", "media"):
        sign_in(page, server, owner.username)
        page.goto(f"{server}/projects/new/")
        page.click("main button[type=submit]")  # empty: the error shows in place
        assert page.locator(".has-error .error").first.inner_text() == "Paste a story or choose a .txt file."
        page.fill("#id_story", story)
        page.fill("#id_shot_count", "3")
        page.select_option("#id_resolution", "480p")
        page.uncheck("#id_auto_render")
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r".*/projects/[0-9a-f-]{36}/$"))  # the editor, not /projects/new/
        project = Project.objects.get(owner=owner)
        editor_url = page.url

        # The cards appear and fill in without a reload.
        wait_for(lambda: settled(page, 3), timeout=90, what="three finished cards")
        assert page.url == editor_url
        images = page.locator(".shot .keyframe").evaluate_all("imgs => imgs.map(img => img.getAttribute('src'))")
        signed = re.compile(rf"^/media/shots/image/[0-9a-f]{{32}}\.png\?p={project.id}\.\d+&e=\d+&s=[0-9a-f]{{32}}$")
        assert all(signed.match(src) for src in images), images
        before = {shot.id: (shot.image_hash, shot.speech_hash) for shot in project.shots.all()}

        # Edit one narration: only that shot's speech is made again.
        second = page.locator(".shot").nth(1)
        second.locator(".narration").fill("小兔子提着花灯回到了月亮上。")
        second.locator(".save").click()
        target = Shot.objects.get(project=project, order=1)
        wait_for(
            lambda: Shot.objects.get(pk=target.pk).speech_hash != before[target.pk][1],
            timeout=60,
            what="the new narration",
        )
        wait_for(lambda: settled(page, 3), timeout=30, what="the cards to settle")
        after = page.locator(".shot .keyframe").evaluate_all("imgs => imgs.map(img => img.getAttribute('src'))")
        assert after == images, "no other card's media changed"
        for shot in project.shots.all():
            assert shot.image_hash == before[shot.id][0]
            assert (shot.speech_hash == before[shot.id][1]) is (shot.id != target.id)

        # Drag the last shot onto the first; the order persists after a reload.
        order = card_ids(page)
        # HTML5 drag and drop, event by event (the browser's own drag gesture cannot be synthesised
        # reliably in headless mode): dragstart on the last card, dragover and drop on the top
        # half of the first.
        transfer = page.evaluate_handle("() => new DataTransfer()")
        box = page.locator(".shot").nth(0).bounding_box()
        page.locator(".shot").nth(2).dispatch_event("dragstart", {"dataTransfer": transfer})
        drop = {"dataTransfer": transfer, "clientX": box["x"] + 10, "clientY": box["y"] + 5, "bubbles": True}
        page.locator(".shot").nth(0).dispatch_event("dragover", drop)
        page.locator(".shot").nth(0).dispatch_event("drop", drop)
        page.locator(".shot").nth(2).dispatch_event("dragend", {"dataTransfer": transfer})
        wait_for(lambda: card_ids(page) == [order[2], order[0], order[1]], timeout=10, what="the dragged order")
        page.reload()
        wait_for(lambda: page.locator(".shot").count() == 3, timeout=10, what="the cards after reload")
        assert card_ids(page) == [order[2], order[0], order[1]]
        # And by keyboard: Alt+ArrowDown moves the focused card down.
        page.locator(".shot").nth(0).focus()
        assert page.locator(".shot:focus").count() == 1, "cards are reachable by keyboard"
        page.keyboard.press("Alt+ArrowDown")
        wait_for(lambda: card_ids(page) == [order[0], order[2], order[1]], timeout=10, what="the keyboard move")

        # Text from users and models is shown as text.
        first = shot_menu(page.locator(".shot").nth(0))
        first.locator(".prompt").fill("<script>document.title='pwned'</script><b>bold</b>")
        first.locator(".save").click()
        wait_for(
            lambda: Shot.objects.filter(project=project, prompt__startswith="<script>").exists(),
            timeout=10,
            what="the saved prompt",
        )
        page.reload()
        wait_for(lambda: page.locator(".shot").count() == 3, timeout=10, what="the cards after reload")
        assert page.locator(".shot").nth(0).locator(".prompt").input_value().startswith("<script>")
        assert page.locator(".shot b").count() == 0 and page.title() != "pwned"

        # Render: the player's video reports a duration.
        wait_for(lambda: settled(page, 3), timeout=60, what="the new picture")
        page.click("#render")
        page.locator("#player video[src]").wait_for(timeout=120_000)
        wait_for(
            lambda: (page.locator("#player video").evaluate("v => v.duration") or 0) > 0,
            timeout=20,
            what="the film's duration",
        )

        # Every download answers 200 with the right content type.
        expected = {
            "video": "video/mp4",
            "poster": "image/jpeg",
            "srt": "application/x-subrip",
            "vtt": "text/vtt",
            "otio": "application/json",
            "fcpxml": "application/xml",
            "edl": "text/plain",
            "bundle": "application/zip",
            "jianying": "application/zip",
        }
        page.goto(f"{server}/projects/{project.id}/preview/")
        # the exports that carry the clips for an editor turn into links once the clips are made
        page.locator(".downloads a").nth(len(expected) - 1).wait_for(timeout=60_000)
        links = page.locator(".downloads a").evaluate_all("links => links.map(link => link.getAttribute('href'))")
        assert len(links) == len(expected)
        for fmt, content_type in expected.items():
            response = page.request.get(f"{server}/api/v1/projects/{project.id}/exports/{fmt}")
            assert response.status == 200 and response.headers["content-type"].startswith(content_type), fmt

        # Another user opening the editor gets 404.
        other = browser.new_context().new_page()
        sign_in(other, server, stranger.username)
        assert other.goto(editor_url).status == 404
    assert page.console_errors == []


def test_the_editor_fits_a_phone_and_polls_while_the_socket_is_down(server: str, page: Any) -> None:
    owner = UserFactory()
    project = Project.objects.create(owner=owner, title="一个很长很长的标题" * 4, story="月亮。", language="zh")
    Shot.objects.create(project=project, order=0, prompt="很长的提示" * 40, narration="很长的旁白" * 40, seed=1)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, owner.username)
    reads: list[str] = []
    page.on("request", lambda request: reads.append(request.url) if request.url.endswith("/storyboard") else None)
    page.route_web_socket(re.compile(r"/ws/projects/"), lambda socket: socket.close())  # the socket is down
    page.goto(f"{server}/projects/{project.id}/")
    page.locator(".shot").wait_for()
    assert page.locator("html").evaluate("html => html.scrollWidth") <= 390, "nothing overflows a phone's width"
    wait_for(lambda: "paused" in page.locator("#live-state").inner_text(), timeout=10, what="the notice")
    # (waiting through Playwright lets it deliver the page's request events meanwhile)
    wait_for(lambda: page.wait_for_timeout(200) or len(reads) >= 3, timeout=12, what="the page to poll")
    assert page.console_errors == []
