"""The pages tell the truth: what the editor and the new-film page show against what the
server knows (issue 11). Debian's Chromium on a live ASGI server; projects are made with the
factories and, where a test needs them, real workers."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from projects.models import Project
from projects.pipeline import project_status_refresh
from shots.models import Shot
from tasks.models import Task
from tests.browser import shot_menu, sign_in
from tests.factories import (
    LINES,
    ProjectFactory,
    ShotFactory,
    UserFactory,
    drafted_project,
    finished,
    shot_with_media,
)

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


def failed_voice(user: Any, tmp_path: Path) -> tuple[Project, Shot]:
    """A two-shot project whose second shot's newest voice task failed."""
    project = ProjectFactory(owner=user, resolution="480p")
    shots = [shot_with_media(project, order, line, tmp_path) for order, line in enumerate(LINES)]
    Task.objects.create(
        kind="speech",
        project=project,
        shot=shots[1],
        owner=user,
        status=Task.Status.FAILED,
        message="espeak-ng exited with status 1.",
        error="espeak-ng exited with status 1.",
    )
    return project, shots[1]


def test_rendering_with_a_failed_shot_names_it_first_and_renders_when_forced(
    api: Any, user: Any, tmp_path: Path
) -> None:
    project, _ = failed_voice(user, tmp_path)
    refused = api.post(f"/api/v1/projects/{project.id}/render", {}, format="json")
    assert refused.status_code == 409, refused.content
    assert "shot 2's voice (espeak-ng exited with status 1)" in refused.json()["error"]["message"]
    assert not project.tasks.filter(kind="compose").exists()

    forced = api.post(f"/api/v1/projects/{project.id}/render", {"force": True}, format="json")
    assert forced.status_code == 202, forced.content
    assert project.tasks.filter(kind="compose").count() == 1


def test_a_failed_card_says_why_after_a_save_and_render_asks_first(server: str, page: Any, tmp_path: Path) -> None:
    user = UserFactory()
    project, _ = failed_voice(user, tmp_path)
    sign_in(page, server, user.username)
    page.goto(f"{server}/projects/{project.id}/")
    card = page.locator(".shot").nth(1)
    reason = card.locator(".stage-error")
    expected = "The voice failed: espeak-ng exited with status 1. Press “New voice”, or change the narration and save."
    assert reason.inner_text() == expected
    assert card.locator(".stage-status").inner_text() == "voice failed"

    shot_menu(card).locator(".camera").select_option("zoom_in")
    with page.expect_response(lambda r: r.request.method == "GET" and r.url.endswith("/storyboard")):
        card.locator(".save").click()  # the save reloads the storyboard; the reason stays
    page.wait_for_function("() => !document.querySelectorAll('.shot')[1].querySelector('.camera').disabled")
    assert reason.is_visible() and reason.inner_text() == expected

    dialogs: list[str] = []

    def answer(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss() if len(dialogs) == 1 else dialog.accept()

    page.on("dialog", answer)
    page.click("#render")  # asked, and told no: nothing is rendered
    page.wait_for_function("() => document.getElementById('live-state').textContent.includes('Some shots failed')")
    assert len(dialogs) == 1 and "shot 2's voice (espeak-ng exited with status 1)" in dialogs[0]
    assert not project.tasks.filter(kind="compose").exists()

    # Asked again, and told yes. (Playwright answers dialogs only while one of its calls waits.)
    with page.expect_response(lambda r: r.url.endswith("/render") and r.status == 202):
        page.click("#render")
    assert len(dialogs) == 2
    assert project.tasks.filter(kind="compose").count() == 1


def test_the_status_line_is_in_words_and_follows_the_server_live(server: str, page: Any, rendered: Project) -> None:
    from projects.pipeline import project_render

    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    status = page.locator("#project-status")
    page.wait_for_function("() => document.getElementById('project-status').textContent === 'Rendered'")
    page.wait_for_function("() => document.getElementById('live-state').dataset.socket === 'open'")

    # From elsewhere (the API, another tab): the page is told. In a thread of its own, since
    # Playwright's event loop in this one would refuse the channel layer's async_to_sync.
    def render_elsewhere() -> None:
        project_render(project=rendered)
        connection.close()

    elsewhere = threading.Thread(target=render_elsewhere)
    elsewhere.start()
    elsewhere.join()
    waits = "The film waits for the media worker (0 ahead of it)."  # no worker runs: it waits
    page.wait_for_function(f"() => document.getElementById('project-status').textContent === '{waits}'")
    assert page.locator("#render").is_disabled()
    assert status.inner_text() == waits


def test_render_waits_for_shots(server: str, page: Any) -> None:
    user = UserFactory()
    project = ProjectFactory(owner=user, status=Project.Status.STORYBOARDING, status_message="Writing the storyboard.")
    sign_in(page, server, user.username)
    page.goto(f"{server}/projects/{project.id}/")
    page.wait_for_function("() => document.getElementById('project-status').textContent === 'Writing the storyboard.'")
    assert page.locator("#render").is_disabled()


def test_work_waiting_on_a_queue_no_worker_serves_is_said(server: str, page: Any, rendered: Project) -> None:
    from projects.pipeline import project_render

    project_render(project=rendered)  # a compose task, and no media worker to run it
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    notice = page.locator("#worker-notice")
    notice.wait_for(state="visible", timeout=30_000)
    assert notice.inner_text().startswith("No media worker (the film) is running: its work waits until one starts")


def test_the_draft_notice_says_what_ran_not_what_the_web_process_guesses(server: str, page: Any) -> None:
    user = UserFactory()
    drafted = drafted_project(user)
    real = ProjectFactory(owner=user)  # the web server runs with HF_HUB_OFFLINE set: no matter
    finished(real, "storyboard", {"notes": []}, backend="transformers", model="Qwen/Qwen2.5-0.5B-Instruct")
    sign_in(page, server, user.username)

    page.goto(f"{server}/projects/{drafted.id}/")
    notice = page.locator("#draft-notice")
    notice.wait_for(state="visible")
    items = notice.locator("li").all_inner_texts()
    assert items == [
        "storyboard: draft instead of transformers:Qwen/Qwen2.5-0.5B-Instruct — no weights here",
        "pictures: draft instead of diffusers:stabilityai/sd-turbo — the weights of stabilityai/sd-turbo are not on "
        "disk and HF_HUB_OFFLINE is set",
    ]
    assert "python manage.py fetch_models" in notice.inner_text()

    page.goto(f"{server}/projects/{real.id}/")
    page.wait_for_function("() => document.getElementById('project-status').textContent !== ''")
    assert notice.is_hidden()


def test_a_portrait_film_on_a_phone_shows_whole_frames_and_leaves_room_for_the_shots(
    server: str, browser: Any, tmp_path: Path
) -> None:
    from core.storage import store
    from inference.image import draft_card
    from tests.factories import render

    user = UserFactory()
    project = ProjectFactory(owner=user, aspect_ratio="9:16", resolution="480p")
    drawn = shot_with_media(project, 0, LINES[0], tmp_path)
    portrait = draft_card("tall", width=270, height=480, style=project.style, seed=1, path=tmp_path / "tall.png")
    drawn.image_file.name, drawn.image_hash = store(Path(portrait.path), folder="shots/image")
    drawn.save()
    assert render(project).status == "finished"
    ShotFactory(project=project, order=1)  # no picture yet
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = phone.new_page()
    sign_in(page, server, user.username)
    page.goto(f"{server}/projects/{project.id}/")
    page.wait_for_selector(".shot:nth-child(2)")
    page.wait_for_function("() => document.querySelector('#player video').readyState >= 1")

    frames = page.eval_on_selector_all(
        ".shot .frame",
        """frames => frames.map(frame => {
            const box = frame.getBoundingClientRect(), image = frame.querySelector('img');
            return {ratio: box.width / box.height, fit: getComputedStyle(image).objectFit,
                    shown: getComputedStyle(image).display !== 'none', height: box.height};
        })""",
    )
    for frame in frames:  # the film's 9:16, never cropped to 16:9, and not taller than 22rem
        assert abs(frame["ratio"] - 9 / 16) < 0.02, frames
        assert frame["height"] <= 22 * 16 + 1
    assert frames[0]["fit"] == "contain" and frames[0]["shown"]
    assert not frames[1]["shown"], "a shot with no picture shows its empty frame, not a broken image"
    video = page.eval_on_selector("#player video", "v => v.getBoundingClientRect().height")
    assert video <= 0.55 * 844 + 1, "the player leaves the shots in view"
    phone.close()


def test_settings_characters_and_a_shots_details_are_edited_from_the_page(
    server: str, page: Any, rendered: Project, tmp_path: Path
) -> None:
    import wave

    from shots.models import Shot

    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    page.wait_for_selector(".shot:nth-child(2)")

    # The film's settings: the installed voices to choose from, and one save.
    page.click("#settings summary")
    # the installed voices arrive by a request of their own (GET /api/v1/voices): slow on a busy machine
    page.wait_for_function("() => document.querySelectorAll('#settings-form select[name=voice] option').length > 1")
    voices = page.eval_on_selector_all("#settings-form select[name=voice] option", "o => o.map(x => x.value)")
    assert voices[0] == "" and "piper:en_US-joe-medium" in voices
    page.select_option("#settings-form select[name=voice]", "espeak:en-us")
    with page.expect_response(lambda r: "/api/v1/voices/preview?voice=espeak%3Aen-us" in r.url and r.status == 200):
        page.click("#voice-preview")  # heard before it is chosen
    page.select_option("#settings-form select[name=voice]", "")
    page.select_option("#settings-form select[name=style]", "watercolor")
    page.uncheck("#settings-form input[name=burnSubtitles]")
    page.fill("#settings-form input[name=musicVolumeDb]", "-6")
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.status == 200):
        page.click("#settings-form button[type=submit]")
    rendered.refresh_from_db()
    assert rendered.style == "watercolor" and rendered.burn_subtitles is False and rendered.music_volume_db == -6
    assert rendered.tasks.filter(kind="image", status__in=Task.UNFINISHED).count() == 2, "the style redraws"

    # Music: uploaded, named, removed.
    music = tmp_path / "music.wav"
    with wave.open(str(music), "wb") as out:
        out.setparams((1, 2, 16000, 0, "NONE", "not compressed"))
        out.writeframes(bytes(2 * 16000))
    page.set_input_files("#music-form input[type=file]", str(music))
    page.click("#music-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('music-name').textContent.startsWith('Now: ')")
    page.click("#music-remove")
    page.wait_for_function("() => document.getElementById('music-name').textContent === 'No music'")
    rendered.refresh_from_db()
    assert not rendered.music

    # A character: added, put in shot 1, edited, deleted.
    page.fill("#character-form input[name=name]", "Ada")
    page.fill("#character-form textarea[name=description]", "a keeper in a yellow coat")
    page.click("#character-form button[type=submit]")
    page.wait_for_selector("#characters li:has-text('no shot yet')")
    first = page.locator(".shot").nth(0)
    shot_menu(first)
    first.locator(".shot-characters input[type=checkbox]").check()
    first.locator(".seed").fill("7")
    first.locator(".pinned-duration").fill("4")
    first.locator(".negative-prompt").fill("text, watermark")
    first.locator(".save").click()
    page.wait_for_selector("#characters li:has-text('in shots 1')")
    shot = Shot.objects.get(project=rendered, order=0)
    assert (shot.seed, shot.pinned_duration, shot.negative_prompt) == (7, 4.0, "text, watermark")
    assert list(shot.characters.values_list("name", flat=True)) == ["Ada"]

    page.click("#characters .edit-character")
    page.fill("#character-form textarea[name=description]", "a keeper in a red coat")
    page.click("#character-form button[type=submit]")
    page.wait_for_selector("#characters li:has-text('a keeper in a red coat')")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#characters .delete-character")
    page.wait_for_function("() => document.querySelectorAll('#characters li').length === 0")
    assert not rendered.characters.exists()
    assert page.console_errors == []


def test_a_film_is_duplicated_and_deleted_from_the_list(server: str, page: Any, rendered: Project) -> None:
    character = rendered.characters.create(name="Ada", description="a keeper", seed=3)
    first = rendered.shots.order_by("order").first()
    assert first is not None
    first.characters.add(character)
    sign_in(page, server, rendered.owner.username)

    page.click("button[aria-label='Duplicate The Keeper\\'s Cat']")
    page.wait_for_selector(".messages li:has-text('Made “The Keeper\\'s Cat (copy)”')")
    copy = Project.objects.get(title="The Keeper's Cat (copy)")
    assert copy.owner == rendered.owner and copy.status == "rendered" and copy.render_video == rendered.render_video
    assert [s.narration for s in copy.shots.order_by("order")] == [
        s.narration for s in rendered.shots.order_by("order")
    ]
    copied_first = copy.shots.get(order=0)
    assert [c.name for c in copied_first.characters.all()] == ["Ada"]
    assert copied_first.characters.get().project == copy and not copy.tasks.exists()

    page.once("dialog", lambda dialog: dialog.dismiss())  # asked, and told no
    page.click("button[aria-label='Delete The Keeper\\'s Cat']")
    assert Project.objects.filter(pk=rendered.pk).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button[aria-label='Delete The Keeper\\'s Cat']")
    page.wait_for_selector(".messages li:has-text('Deleted “The Keeper\\'s Cat”')")
    assert not Project.objects.filter(pk=rendered.pk).exists()
    copy.refresh_from_db()
    assert Path(copy.render_video.path).is_file(), "the copy keeps the film the two shared"


CONTRAST = """el => {
    const rgb = c => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
    const lum = c => { const [r, g, b] = rgb(c).map(v => { v /= 255;
        return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
    const style = getComputedStyle(el), a = lum(style.color), b = lum(style.backgroundColor);
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_the_pages_are_usable_without_sight_of_the_screen(server: str, page: Any, tmp_path: Path) -> None:
    user = UserFactory()
    project, _ = failed_voice(user, tmp_path)
    Task.objects.create(kind="image", project=project, shot=project.shots.get(order=0), owner=user)  # busy
    sign_in(page, server, user.username)

    # The new-film form: the field in error has the focus and points at its error.
    page.goto(f"{server}/projects/new/")
    page.click("main button[type=submit]")
    page.wait_for_function("() => document.activeElement.id === 'id_story'")  # once the page's script ran
    described = page.get_attribute("#id_story", "aria-describedby").split()
    assert "story-error" in described
    assert page.inner_text("#story-error") == "Paste a story or choose a .txt file."
    assert page.get_attribute("#id_story", "aria-invalid") == "true"

    # The editor: controls named with their shot, the reorder keys written down, a drag handle,
    # and badges legible (WCAG AA, 4.5:1) in every state.
    page.goto(f"{server}/projects/{project.id}/")
    page.wait_for_selector(".shot:nth-child(2) .stage-status[data-state=failed]")
    shot_menu(page.locator(".shot").nth(0))  # the rest of a shot is behind its menu, named as well
    second = shot_menu(page.locator(".shot").nth(1))
    assert second.locator(".more > summary").inner_text() == "Picture, voice, camera…"
    second.locator(".narration").fill("Ada waited for the ship.")  # a change: its Save is there
    for name in ("Save shot 2", "New voice for shot 2", "Move shot 1 down", "Delete shot 1"):
        assert page.get_by_role("button", name=name, exact=True).count() == 1, name
    assert page.get_by_role("textbox", name="Narration of shot 2", exact=True).count() == 1
    assert "Alt+↑ or Alt+↓" in page.inner_text("#reorder-hint")
    assert page.locator(".shot .handle").first.is_visible()
    for state in ("busy", "failed"):
        badge = page.locator(f".stage-status[data-state={state}]").first
        assert badge.evaluate(CONTRAST) >= 4.5, state
    Task.objects.filter(project=project).update(status="finished", updated_at=timezone.now())  # as services do
    page.reload()
    badge = page.locator(".stage-status[data-state=ready]").first
    badge.wait_for()
    assert badge.evaluate(CONTRAST) >= 4.5


def test_the_films_progress_has_an_estimate_from_this_installations_own_timings(server: str, page: Any) -> None:
    from datetime import timedelta

    from django.core.cache import cache

    user = UserFactory()
    elsewhere = ProjectFactory(owner=user)
    now = timezone.now()
    for seconds in (8, 10, 30):  # pictures here have taken a median of 10 s
        Task.objects.create(
            kind="image",
            project=elsewhere,
            status="finished",
            started_at=now - timedelta(seconds=seconds),
            finished_at=now,
        )
    cache.delete("storyvideo:typical-seconds")
    project = ProjectFactory(owner=user)
    first, second = ShotFactory(project=project, order=0), ShotFactory(project=project, order=1)
    done = {"status": "finished", "started_at": now - timedelta(seconds=10), "finished_at": now}
    Task.objects.create(kind="image", project=project, shot=first, **done)
    waiting = Task.objects.create(kind="image", project=project, shot=second, status="pending")  # no worker runs it
    project_status_refresh(project_id=project.id)
    sign_in(page, server, user.username)
    page.goto(f"{server}/projects/{project.id}/")
    page.wait_for_function("() => document.getElementById('film-progress').textContent.includes('steps')")
    assert page.inner_text("#film-progress") == "1 of 2 steps", "waiting work has no estimate"
    waits = "1 picture, clip or voice task(s) waiting for a worker (0 ahead of them)."
    assert page.inner_text("#project-status") == waits

    # Running, 90 % along by its own word, for 2 s of a typical 10 s: what is left of the typical
    # time, not the 1 s its progress alone would say.
    Task.objects.filter(pk=waiting.pk).update(
        status="processing", progress=90, started_at=timezone.now() - timedelta(seconds=2), updated_at=timezone.now()
    )
    project_status_refresh(project_id=project.id)
    page.reload()
    page.wait_for_function("() => document.getElementById('film-progress').textContent.includes('left')")
    left = re.fullmatch(r"1 of 2 steps · about (\d+) s left", page.inner_text("#film-progress"))
    assert left is not None and 3 <= int(left.group(1)) <= 8, page.inner_text("#film-progress")
    assert page.inner_text("#project-status") == "1 picture, clip or voice task(s) to go."


def test_the_interface_speaks_the_browsers_language_and_a_switch_overrides_it(
    server: str, browser: Any, tmp_path: Path
) -> None:
    user = UserFactory()
    project = ProjectFactory(owner=user, title="月兔", language="zh")
    shot_with_media(project, 0, LINES[0], tmp_path)
    chinese = browser.new_context(locale="zh-CN")
    page = chinese.new_page()
    page.goto(f"{server}/accounts/login/")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert page.inner_text("main h1") == "登录"
    sign_in(page, server, user.username)
    assert page.inner_text("main h1") == "我的影片"

    page.goto(f"{server}/projects/{project.id}/")
    page.wait_for_selector(".shot")
    assert page.inner_text("#render") == "合成影片"
    assert page.inner_text(".shot .number") == "镜头 1"  # from the script's catalog
    page.locator(".shot .narration").fill("船回来了。")
    assert page.get_by_role("button", name="保存镜头 1", exact=True).count() == 1
    assert page.get_attribute("#shots", "lang") == "zh-Hans"

    page.select_option("#language-form select[name=language]", "en")  # the switch wins over the browser
    page.click("#language-form button[type=submit]")
    page.wait_for_selector("#render:has-text('Render film')")
    assert page.get_attribute("html", "lang") == "en"
    page.wait_for_selector(".shot .number:has-text('Shot 1')")
    page.goto(f"{server}/projects/")
    assert page.inner_text("main h1") == "Your films"
    chinese.close()


def test_the_status_line_is_said_in_the_interfaces_language(server: str, browser: Any, tmp_path: Path) -> None:
    from projects.pipeline import project_status_derive

    user = UserFactory()
    project, _ = failed_voice(user, tmp_path)
    project_status_derive(project=project)  # as the worker does when the voice task has ended
    project.refresh_from_db()
    assert project.status_message == (
        "Shot 2's voice failed: espeak-ng exited with status 1. Regenerate it or edit the shot."
    )
    chinese = browser.new_context(locale="zh-CN")
    page = chinese.new_page()
    sign_in(page, server, user.username)
    page.goto(f"{server}/projects/{project.id}/")
    page.wait_for_function("() => document.getElementById('project-status').textContent !== ''")
    assert (
        page.inner_text("#project-status")
        == "镜头 2 的配音失败：espeak-ng exited with status 1。请重新生成或修改该镜头。"
    )
    chinese.close()
