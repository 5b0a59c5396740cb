"""An editor a person enjoys (issue 26), in Debian's Chromium on a live ASGI server: a new
picture is a new one unless its seed is pinned."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from projects.models import Project
from shots.models import Shot
from tasks.models import Task
from tests.browser import shot_menu, sign_in
from tests.workers import run_in_thread

pytestmark = [pytest.mark.django_db(transaction=True)]


def _new_picture(page: Any, card: Any, shot: Shot) -> Shot:
    """Press "New picture" on the card, run its task as a worker would; the shot after it."""
    with page.expect_response(lambda r: r.url.endswith("/generate")) as asked:
        shot_menu(card).locator(".regen[data-stage=image]").click()
    assert asked.value.status == 202, asked.value.text()
    run_in_thread(asked.value.json()["id"])
    assert Task.objects.get(pk=asked.value.json()["id"]).status == "finished"
    return Shot.objects.get(pk=shot.pk)


@pytest.mark.browser
def test_a_new_picture_draws_a_new_seed_unless_the_seed_is_pinned(server: str, page: Any, rendered: Project) -> None:
    shot = rendered.shots.get(order=0)
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = page.locator(".shot").first
    card.wait_for()
    assert not card.locator(".seed-pin").is_checked()

    first = _new_picture(page, card, shot)
    second = _new_picture(page, card, first)
    assert len({shot.seed, first.seed, second.seed}) == 3, "each new picture draws its own seed"
    assert len({shot.image_hash, first.image_hash, second.image_hash}) == 3, "and is another picture"

    card.locator(".history summary").click()
    card.locator(".version").nth(2).wait_for()
    facts = card.locator(".version .what").all_inner_texts()
    assert f"seed {second.seed}" in facts[0] and f"seed {first.seed}" in facts[1], facts

    with page.expect_response(lambda r: r.request.method == "PATCH") as pinned:
        card.locator(".seed-pin").check()
    assert pinned.value.status == 200 and Shot.objects.get(pk=shot.pk).seed_pinned
    third = _new_picture(page, card, second)
    assert (third.seed, third.image_hash) == (second.seed, second.image_hash), "pinned: the same seed and picture"
    page.reload()
    page.locator(".shot").first.wait_for()
    assert page.locator(".shot .seed-pin").first.is_checked()


def test_a_seed_the_person_sets_is_pinned_and_characters_lend_theirs(api: Any, rendered: Project) -> None:
    shot = rendered.shots.get(order=0)
    ada = rendered.characters.create(name="Ada", description="a keeper in a yellow coat", seed=7)
    answered = api.patch(f"/api/v1/shots/{shot.id}", {"characterIds": [str(ada.id)]}, format="json")
    assert answered.status_code == 200 and answered.json()["seed"] == 7, "painted with the character's seed"
    assert answered.json()["seedPinned"] is False
    assert api.patch(f"/api/v1/characters/{ada.id}", {"seed": 8}, format="json").status_code == 200
    assert Shot.objects.get(pk=shot.pk).seed == 8, "the character's new seed reaches its shots"

    answered = api.patch(f"/api/v1/shots/{shot.id}", {"seed": 1234}, format="json")
    assert answered.json()["seed"] == 1234 and answered.json()["seedPinned"] is True
    assert api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "image"}, format="json").status_code == 202
    assert Shot.objects.get(pk=shot.pk).seed == 1234, "a pinned seed is kept by a new picture"
    assert api.patch(f"/api/v1/characters/{ada.id}", {"seed": 9}, format="json").status_code == 200
    assert Shot.objects.get(pk=shot.pk).seed == 1234, "and by the character's change"

    api.patch(f"/api/v1/shots/{shot.id}", {"seedPinned": False}, format="json")
    assert api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "image"}, format="json").status_code == 202
    assert Shot.objects.get(pk=shot.pk).seed != 1234


@pytest.mark.browser
def test_every_waiting_task_on_the_page_has_a_cancel(server: str, page: Any, rendered: Project) -> None:
    shot = rendered.shots.get(order=1)
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = page.locator(".shot").nth(1)
    card.wait_for()
    assert card.locator(".shot-cancel").is_hidden() and page.locator("#film-cancel").is_hidden()
    with page.expect_response(lambda r: r.url.endswith("/generate")) as asked:
        shot_menu(card).locator(".regen[data-stage=speech]").click()
    task_id = asked.value.json()["id"]
    card.locator(".shot-cancel").wait_for()  # no worker runs: it waits
    page.locator("#film-cancel").wait_for()  # and the film's progress line names it too
    with page.expect_response(lambda r: r.url.endswith(f"/tasks/{task_id}/cancel")) as cancelled:
        card.locator(".shot-cancel").click()
    assert cancelled.value.status == 200, cancelled.value.text()
    assert Task.objects.get(pk=task_id).status == "cancelled"
    card.locator(".shot-cancel").wait_for(state="hidden")
    assert Shot.objects.get(pk=shot.pk).speech_hash == shot.speech_hash, "the voice it had stays"

    with page.expect_response(lambda r: r.url.endswith("/render")) as render:
        page.click("#render")
    compose_id = render.value.json()["id"]
    with page.expect_response(lambda r: r.url.endswith(f"/tasks/{compose_id}/cancel")) as cancelled:
        page.locator("#film-cancel").click()
    assert cancelled.value.status == 200 and Task.objects.get(pk=compose_id).status == "cancelled"
    page.locator("#film-cancel").wait_for(state="hidden")


@pytest.mark.browser
def test_a_person_makes_an_account_in_the_browser(server: str, page: Any) -> None:
    from django.contrib.auth import get_user_model

    from accounts.models import AuditEvent
    from tests.factories import UserFactory

    UserFactory(username="taken")
    page.goto(f"{server}/accounts/login/")
    page.click("text=Create an account")
    page.wait_for_url("**/accounts/signup/")
    page.fill("#id_username", "Taken")  # in use, in other letters' case
    page.fill("#id_password1", "a-long-new-password")
    page.fill("#id_password2", "a-long-new-password")
    page.click("main button[type=submit]")
    assert page.locator(".error").inner_text() == "This username cannot be used; choose another."
    page.fill("#id_username", "mira")
    page.fill("#id_password1", "short")
    page.fill("#id_password2", "short")
    page.click("main button[type=submit]")
    assert "too short" in page.locator(".error").inner_text()
    assert not get_user_model().objects.filter(username="mira").exists()

    page.fill("#id_password1", "a-long-new-password")
    page.fill("#id_password2", "a-long-new-password")
    page.click("main button[type=submit]")
    page.wait_for_url("**/projects/")  # signed in at once
    assert get_user_model().objects.get(username="mira").check_password("a-long-new-password")
    assert AuditEvent.objects.filter(action="signed_up", actor__username="mira").exists()


def test_sign_up_is_throttled_as_sign_in_is_and_absent_when_switched_off(settings: Any) -> None:
    from django.test import Client

    client = Client()
    assert client.get("/accounts/signup/").status_code == 200
    answers = [client.post("/accounts/signup/", {"username": "x"}).status_code for _ in range(12)]
    assert answers[:10] == [200] * 10 and answers[10:] == [429, 429], answers  # the login rate: 10/minute
    settings.ALLOW_SIGNUP = False
    assert client.get("/accounts/signup/").status_code == 404
    assert "Create an account" not in client.get("/accounts/login/").content.decode()


@pytest.mark.browser
def test_a_double_click_on_render_makes_one_render(server: str, page: Any, rendered: Project) -> None:
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    page.locator(".shot").first.wait_for()
    answers: list[Any] = []
    page.on("response", lambda r: answers.append(r) if r.url.endswith("/render") else None)
    page.dblclick("#render")
    page.wait_for_function("() => document.getElementById('render').disabled")
    for _ in range(100):  # both clicks' requests answered (the button is disabled only after the first)
        if len(answers) >= 2:
            break
        page.wait_for_timeout(100)
    assert len(answers) == 2, "a double-click sends two requests"
    composes = list(rendered.tasks.filter(kind="compose", status__in=Task.UNFINISHED))
    assert len(composes) == 1 and not rendered.tasks.filter(kind="compose", status="cancelled").exists()
    assert {r.json()["id"] for r in answers} == {str(composes[0].id)}


@pytest.mark.browser
def test_a_story_with_nothing_a_voice_can_read_is_refused(server: str, page: Any, api: Any, user: Any) -> None:
    answered = api.post("/api/v1/projects", {"story": "🐱🌙✨ 🐰!!"}, format="json")
    assert answered.status_code == 400 and "no words a voice can read" in answered.json()["error"]["message"]
    sign_in(page, server, user.username)
    page.goto(f"{server}/projects/new/")
    page.fill("#id_story", "🐱🌙✨ 🐰!!")
    page.click("main button[type=submit]")
    assert page.locator(".error").inner_text() == (
        "The story has no words a voice can read (only emoji, symbols or punctuation): write it in words."
    )
    assert not Project.objects.filter(owner=user).exists()
    assert api.post("/api/v1/projects", {"story": "月亮升起来了 🌙"}, format="json").status_code == 202


def _contrast(page: Any, selector: str) -> float:
    """WCAG contrast of the element's text against its background (opaque colours)."""
    return float(
        page.eval_on_selector(
            selector,
            """element => {
              const style = getComputedStyle(element);
              const lum = (css) => {
                const [r, g, b] = css.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map((v) => {
                  v /= 255;
                  return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
                });
                return 0.2126 * r + 0.7152 * g + 0.0722 * b;
              };
              const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
              return (a + 0.05) / (b + 0.05);
            }""",
        )
    )


@pytest.mark.browser
def test_delete_on_the_film_list_is_readable_and_unlike_duplicate(server: str, page: Any, rendered: Project) -> None:
    sign_in(page, server, rendered.owner.username)
    delete, duplicate = ".delete-project button", "button.duplicate"
    page.locator(delete).first.wait_for()
    assert _contrast(page, delete) >= 4.5 and _contrast(page, duplicate) >= 4.5
    looks = "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor].join()"
    assert page.eval_on_selector(delete, looks) != page.eval_on_selector(duplicate, looks)


@pytest.mark.browser
def test_an_uploaded_file_keeps_its_name_as_the_person_wrote_it(server: str, page: Any, rendered: Project) -> None:
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.new("RGB", (640, 360), (200, 120, 10)).save(picture, format="PNG")
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = page.locator(".shot").first
    card.wait_for()
    with page.expect_response(lambda r: r.url.endswith("/media")) as answer:
        card.locator(".own-file[data-stage=image]").set_input_files(
            files=[{"name": '"very best".png', "mimeType": "image/png", "buffer": picture.getvalue()}]
        )
    assert answer.value.status == 200, answer.value.text()
    assert rendered.shots.get(order=0).image_source == 'own:"very best".png'
    assert answer.value.json()["image"]["source"] == 'own:"very best".png'


@pytest.mark.browser
def test_styles_camera_moves_and_transitions_are_named_in_chinese(server: str, browser: Any, rendered: Project) -> None:
    page = browser.new_context(locale="zh-CN").new_page()
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/new/")
    texts = "options => options.map((o) => o.textContent.trim())"
    styles = page.locator("#id_style option").evaluate_all(texts)
    assert styles == [
        "电影感",
        "绘本插画",
        "水彩",
        "动漫",
        "水墨画",
        "写实摄影",
        "赛博朋克",
        "油画",
        "国风插画",
        "像素风",
    ]
    page.goto(f"{server}/projects/{rendered.id}/")
    page.locator(".shot").first.wait_for()
    cameras = page.locator(".shot .camera").first.locator("option").evaluate_all(texts)
    assert cameras == ["静止", "推近", "拉远", "向左摇", "向右摇", "向上摇", "向下摇"]
    then = page.locator(".shot .transition").first.locator("option").evaluate_all(texts)
    assert then == ["硬切", "淡入淡出", "叠化", "向左擦除", "向右擦除", "向左滑动", "向右滑动"]
    assert page.locator("select[name=style] option").evaluate_all(texts) == styles
    assert page.locator(".shot .seed-pin").first.evaluate("box => box.parentElement.textContent.trim()") == "同一种子"


@pytest.mark.browser
def test_hidden_controls_stay_hidden_and_an_editor_sees_only_what_they_may_use(
    server: str, page: Any, rendered: Project, other_user: Any
) -> None:
    from projects.models import Member

    Member.objects.create(project=rendered, user=other_user, role="editor")
    sign_in(page, server, other_user.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    page.locator(".shot").first.wait_for()
    card = page.locator(".shot").first
    card.locator(".narration").fill("Ada ran up the stairs.")  # an editor edits shots
    assert card.locator(".save").is_visible()
    assert page.locator("#translate").is_hidden(), "translating makes a project of the owner's: not an editor's"
    assert page.locator("#story-panel").is_hidden(), "the storyboard is made: no story box that saves to nowhere"
    assert page.locator(".shot .shot-cancel").first.is_hidden() and page.locator("#film-cancel").is_hidden()


@pytest.mark.browser
def test_a_made_storyboard_is_made_again_from_its_edited_story(
    server: str, page: Any, rendered: Project, api: Any
) -> None:
    """The story of a made storyboard offers what it can do: make the storyboard again from the
    edited story, the one it had kept among the earlier ones (not a save that goes nowhere)."""
    refused = api.post(f"/api/v1/projects/{rendered.id}/storyboard/start")
    assert refused.status_code == 409 and "make it again from the story" in refused.json()["error"]["message"]
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    page.locator(".shot").first.wait_for()
    assert page.locator("#story-panel").is_hidden()
    page.click("#story-again summary")
    assert page.input_value("#story-again-text") == rendered.story
    story = "A fox found a lantern. It walked to the sea. The boats came home."
    page.fill("#story-again-text", story)
    with page.expect_response(lambda r: r.url.endswith("/storyboard/start")) as answer:
        page.click("#storyboard-again")
    assert answer.value.status == 202, answer.value.text()
    storyboard = Task.objects.get(project=rendered, kind="storyboard", status="pending")
    rendered.refresh_from_db()
    assert rendered.story == story
    [kept] = rendered.snapshots.all()
    assert kept.reason == "Before the storyboard was made again from the story."
    assert [s["narration"] for s in kept.data["shots"]] == [
        "Ada climbed the spiral stairs.",
        "Pip followed, counting the steps.",
    ]

    run_in_thread(str(storyboard.id))  # as the language worker would: the draft cuts the new story
    assert list(rendered.shots.order_by("order").values_list("narration", flat=True)) == [
        "A fox found a lantern.",
        "It walked to the sea.",
        "The boats came home.",
    ]
    page.locator(".shot").nth(2).wait_for()  # the editor follows


@pytest.mark.browser
def test_the_film_strip_plays_from_a_shot_and_selects_its_card(
    server: str, page: Any, rendered: Project, api: Any
) -> None:
    """Under the player, each shot of the film is a block as wide as its time in it: a click plays
    the film from there and selects the shot's card; j / l step through the shots, ? lists the keys."""
    film = api.get(f"/api/v1/projects/{rendered.id}/storyboard").json()["project"]["render"]
    first, second = film["shots"]
    shots = list(rendered.shots.order_by("order"))
    assert [first["shotId"], second["shotId"]] == [str(shot.id) for shot in shots]
    assert first["start"] == 0 and first["end"] == second["start"] and second["end"] == film["duration"]

    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    blocks = page.locator("#filmstrip .strip-shot")
    blocks.nth(1).wait_for()
    widths = blocks.evaluate_all("blocks => blocks.map((b) => b.getBoundingClientRect().width)")
    lengths = [first["end"] - first["start"], second["end"] - second["start"]]
    assert abs(widths[0] / widths[1] - lengths[0] / lengths[1]) < 0.15, (widths, lengths)
    page.wait_for_function("() => document.querySelector('#player video').readyState >= 1")

    blocks.nth(1).click()
    assert page.evaluate("() => document.querySelector('#player video').currentTime") == pytest.approx(
        second["start"], abs=0.05
    )
    assert (
        blocks.nth(1).get_attribute("aria-current") == "true" and blocks.nth(0).get_attribute("aria-current") == "false"
    )
    assert page.evaluate("() => document.activeElement.dataset.shotId") == str(shots[1].id)

    page.locator("#project-title").click()  # not in a field: the keys are the page's
    page.keyboard.press("j")
    assert page.evaluate("() => document.querySelector('#player video').currentTime") == pytest.approx(0, abs=0.05)
    assert page.evaluate("() => document.activeElement.dataset.shotId") == str(shots[0].id)
    page.locator("#project-title").click()
    page.keyboard.press("?")
    assert page.locator("#shortcuts").is_visible()
    assert "Play or pause the film" in page.inner_text("#shortcuts")
    page.keyboard.press("Escape")
    assert page.locator("#shortcuts").is_hidden()


@pytest.mark.browser
def test_a_choice_not_yet_saved_survives_a_live_update_of_its_shot(
    server: str, page: Any, rendered: Project, api: Any
) -> None:
    """A person picks a camera move and a shot size; before they press Save, the shot changes
    elsewhere (another tab rewrites its narration): the live update repaints the card and keeps
    their choices."""
    shot = rendered.shots.get(order=0)
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = page.locator(".shot").first
    card.wait_for()
    shot_menu(card).locator(".camera").select_option("pan_left")
    card.locator(".shot-size").select_option("wide")
    answers: list[int] = []

    def elsewhere() -> None:  # a thread of its own: its live update must not share the page's event loop
        from django.db import connection

        try:
            body = {"narration": "Ada ran up the stairs."}
            answers.append(api.patch(f"/api/v1/shots/{shot.id}", body, format="json").status_code)
        finally:
            connection.close()

    other = threading.Thread(target=elsewhere)
    other.start()
    other.join()
    assert answers == [200]
    page.wait_for_function("() => document.querySelector('.shot .narration').value === 'Ada ran up the stairs.'")
    assert (card.locator(".camera").input_value(), card.locator(".shot-size").input_value()) == ("pan_left", "wide")
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.status == 200):
        card.locator(".save").click()
    shot.refresh_from_db()
    assert (shot.camera, shot.shot_size, shot.narration) == ("pan_left", "wide", "Ada ran up the stairs.")


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_card_leads_with_its_picture_and_narration_and_saves_only_a_change(
    server: str, page: Any, rendered: Project, language: str
) -> None:
    """A card shows its picture, its narration and Approved; the rest of the shot is behind one
    menu (``m`` on a selected card opens it), and Save is there only while the card holds a change
    (Ctrl+Enter in a field saves it)."""
    page.context.set_extra_http_headers({"Accept-Language": language})
    shot = rendered.shots.get(order=0)
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = page.locator(".shot").first
    card.locator(".keyframe").wait_for()
    page.wait_for_function(  # a desktop card's frame shows the picture's thumbnail, not the whole picture
        "img => img.complete && img.currentSrc.includes('/media/thumbs/shots/image/')",
        arg=card.locator(".keyframe").element_handle(),
    )
    shown = card.locator("textarea, input:not([type=file]), select, button, summary").evaluate_all(
        "controls => controls.filter((c) => c.checkVisibility()).map((c) => c.className || c.tagName)"
    )
    assert shown == ["narration", "approve", "SUMMARY"], shown
    summary = card.locator(".more > summary").inner_text()
    assert summary == {"en": "Picture, voice, camera…", "zh-hans": "画面、配音、镜头…"}[language]

    card.locator(".narration").fill("Ada ran up the stairs.")
    assert card.locator(".save").is_visible()
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.status == 200):
        card.locator(".save").click()
    card.locator(".save").wait_for(state="hidden")
    shot.refresh_from_db()
    assert shot.narration == "Ada ran up the stairs."

    page.locator("#project-title").click()
    card.focus()  # a selected card: m opens its menu, and m again closes it
    page.keyboard.press("m")
    assert card.locator(".camera").is_visible() and card.locator(".more > summary").evaluate(
        "summary => summary === document.activeElement"
    )
    card.locator(".camera").select_option("pan_left")
    assert card.locator(".save").is_visible(), "a change in the menu shows Save too"
    card.locator(".negative-prompt").fill("text")
    with page.expect_response(lambda r: r.request.method == "PATCH" and r.status == 200):
        page.keyboard.press("Control+Enter")
    card.locator(".save").wait_for(state="hidden")
    shot.refresh_from_db()
    assert (shot.camera, shot.negative_prompt, shot.narration) == ("pan_left", "text", "Ada ran up the stairs.")
    card.focus()
    page.keyboard.press("m")
    assert card.locator(".camera").is_hidden()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_show_me_4_paints_pictures_to_choose_from_and_a_click_makes_one_the_shots(
    server: str, page: Any, rendered: Project, language: str
) -> None:
    from shots.models import Candidate

    page.context.set_extra_http_headers({"Accept-Language": language})
    shot = rendered.shots.get(order=0)
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = shot_menu(page.locator(".shot").first)
    ask = card.locator(".show-candidates")
    assert ask.inner_text() == {"en": "Show me 4", "zh-hans": "给我看 4 张"}[language]
    with page.expect_response(lambda r: r.url.endswith("/candidates") and r.request.method == "POST") as asked:
        ask.click()
    assert asked.value.status == 202, asked.value.text()
    run_in_thread(asked.value.json()["id"])
    choices = card.locator(".candidate-grid .choose-candidate")
    choices.nth(3).wait_for()  # the finished task's live update fills the grid
    assert choices.count() == 4
    sources = card.locator(".candidate-grid img").evaluate_all("images => images.map((i) => i.getAttribute('src'))")
    assert all(source.startswith("/media/thumbs/shots/image/") for source in sources), sources
    seeds = sorted(Candidate.objects.filter(shot=shot).values_list("seed", flat=True))
    assert seeds == list(range(seeds[0], seeds[0] + 4))
    caption = choices.nth(1).locator("small").inner_text()
    assert caption.startswith({"en": "Seed ", "zh-hans": "种子 "}[language]), caption

    with page.expect_response(lambda r: r.url.endswith("/choose")) as chosen:
        choices.nth(1).click()
    assert chosen.value.status == 200
    picked = Candidate.objects.get(pk=choices.nth(1).get_attribute("data-candidate-id"))
    shot.refresh_from_db()
    assert (shot.image_hash, shot.seed) == (picked.hash, picked.seed)
    page.wait_for_function(
        "(id) => document.querySelector(`.choose-candidate[data-candidate-id='${id}']`).disabled", arg=str(picked.id)
    )
    assert {"en": "In use", "zh-hans": "使用中"}[language] in choices.nth(1).inner_text()


@pytest.mark.browser
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_gallery_paints_pictures_outside_any_film_and_a_shot_takes_one(
    server: str, page: Any, rendered: Project, language: str
) -> None:
    from shots.models import Picture

    words = {
        "en": ("Gallery", "2 painted, now in your gallery.", "This field may not be blank.", "From my gallery"),
        "zh-hans": ("图库", "已画好 2 张，已放入图库。", "不能为空", "从我的图库选"),
    }[language]
    page.context.set_extra_http_headers({"Accept-Language": language})
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/")
    page.locator("header nav a", has_text=words[0]).click()
    assert page.locator("h1").inner_text() == words[0]
    page.locator("#gallery-empty").wait_for()  # the page has asked for the gallery: nothing in it yet

    with page.expect_response(lambda r: r.url.endswith("/generate")) as refused:
        page.locator("#studio-paint").click()  # no prompt: the API's words, under the field
    assert refused.value.status == 400
    page.locator('.error[data-field="prompt"]', has_text=words[2]).wait_for()

    page.locator("#studio-prompt").fill("a paper lantern over a river at night")
    page.locator("select[name=count]").select_option("2")
    page.locator("select[name=tier]").select_option("draft")
    page.locator("select[name=aspectRatio]").select_option("1:1")
    with page.expect_response(lambda r: r.url.endswith("/generate")) as asked:
        page.locator("#studio-paint").click()
    assert asked.value.status == 202, asked.value.text()
    assert page.locator('.error[data-field="prompt"]').is_hidden()
    run_in_thread(asked.value.json()["id"])
    pictures = page.locator("#gallery .picture")
    pictures.nth(1).wait_for()  # the page follows the task and then lists the gallery
    assert page.locator("#studio-state").inner_text() == words[1]
    assert pictures.count() == 2 and Picture.objects.filter(owner=rendered.owner).count() == 2
    sources = pictures.locator("img").evaluate_all("images => images.map((i) => i.getAttribute('src'))")
    assert all(source.startswith("/media/thumbs/gallery/") for source in sources), sources

    page.once("dialog", lambda dialog: dialog.accept())
    gone = pictures.nth(0).get_attribute("data-picture-id")
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        pictures.nth(0).locator(".delete-picture").click()
    assert deleted.value.status == 204
    page.wait_for_function("() => document.querySelectorAll('#gallery .picture').length === 1")
    assert not Picture.objects.filter(pk=gone).exists()
    kept = Picture.objects.get(owner=rendered.owner)

    shot = rendered.shots.get(order=0)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = shot_menu(page.locator(".shot").first)
    card.locator(".show-gallery").click()
    assert card.locator(".show-gallery").inner_text() == words[3]
    choice = card.locator(".use-picture")
    choice.first.wait_for()
    assert choice.count() == 1 and choice.first.get_attribute("data-picture-id") == str(kept.id)
    with page.expect_response(lambda r: r.url.endswith("/use")) as used:
        choice.first.click()
    assert used.value.status == 200, used.value.text()
    shot.refresh_from_db()
    assert (shot.image_hash, shot.seed) == (kept.hash, kept.seed)
    card.locator(".gallery-pick").wait_for(state="hidden")
