"""Issue 13, section 1: a person's own picture or narration recording on a shot, through the
API: checked by decoding, fitted to the frame or levelled, recorded as their own, and a
regeneration asks first."""

from __future__ import annotations

import io
import subprocess
import wave
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from inference.media import ffmpeg_exe
from projects.models import Project
from shots.models import Shot
from tasks.models import Task
from tests.browser import shot_menu, sign_in
from tests.clients import CommittingAPIClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def picture(fmt: str, size: tuple[int, int] = (1000, 300)) -> SimpleUploadedFile:
    data = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(data, format=fmt)
    return SimpleUploadedFile(f"my photo.{fmt.lower()}", data.getvalue())


def huge() -> bytes:
    """A small PNG file of 50 million pixels (one bit each): decoded in RGB, 150 MB."""
    data = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(data, format="PNG")
    return data.getvalue()


def recording(tmp_path: Path, seconds: float = 2.0) -> SimpleUploadedFile:
    path = tmp_path / "me.mp3"
    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds}", str(path)],
        check=True,
    )
    return SimpleUploadedFile("me reading.mp3", path.read_bytes())


def upload(api: APIClient, shot: Shot, stage: str, file: Any) -> Any:
    return api.post(f"/api/v1/shots/{shot.id}/media", {"stage": stage, "file": file}, format="multipart")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_my_picture_is_fitted_to_the_frame_recorded_as_mine_and_the_film_is_recomposed(
    api: APIClient, rendered: Project, fmt: str
) -> None:
    shot = rendered.shots.get(order=1)
    before = (shot.image_version, rendered.tasks.filter(kind="compose").count())
    response = upload(api, shot, "image", picture(fmt))
    assert response.status_code == 200, response.content
    image = response.json()["image"]
    assert image["own"] is True and image["source"] == f"own:my photo.{fmt.lower()}"
    assert image["version"] == before[0] + 1
    shot.refresh_from_db()
    with Image.open(shot.image_file.path) as stored:
        assert (stored.format, stored.size) == ("PNG", (854, 480))  # the 480p frame, covered
        assert stored.getpixel((427, 240))[0] > 150  # the person's red, not the drawn keyframe
    assert rendered.tasks.filter(kind="compose").count() == before[1] + 1
    assert not rendered.tasks.filter(kind="image", status__in=Task.UNFINISHED).exists()


def test_my_recording_is_decoded_levelled_and_timed(api: APIClient, rendered: Project, tmp_path: Path) -> None:
    shot = rendered.shots.get(order=0)
    response = upload(api, shot, "speech", recording(tmp_path, 2.0))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["speech"]["own"] is True and body["speechDuration"] == pytest.approx(2.0, abs=0.1)
    shot.refresh_from_db()
    with wave.open(shot.speech_file.path) as wav:
        assert (wav.getframerate(), wav.getnchannels()) == (24000, 1)
    assert shot.speech_sentences == [[0.0, shot.speech_duration, shot.narration]]


@pytest.mark.parametrize(
    ("stage", "file", "message"),
    [
        ("image", SimpleUploadedFile("x.png", b"not a picture at all"), "Not a picture that can be read"),
        ("image", SimpleUploadedFile("x.png", b""), "Not a picture that can be read"),
        ("image", picture("GIF"), "Not a picture that can be read"),
        ("image", SimpleUploadedFile("x.png", picture("PNG").read()[:200]), "Not a picture that can be read"),
        ("image", SimpleUploadedFile("x.png", huge()), "(50.0 megapixels); the most is 16.8"),
        ("speech", SimpleUploadedFile("x.mp3", b"ID3 not really audio"), "Not a recording ffmpeg can read"),
        ("speech", picture("PNG"), "Not a recording ffmpeg can read"),
        ("music", picture("PNG"), "Say which file this is"),
    ],
    ids=["text", "empty", "gif", "truncated png", "50 megapixels", "not audio", "a picture as speech", "unknown stage"],
)
def test_a_file_that_does_not_decode_is_refused_and_changes_nothing(
    api: APIClient, rendered: Project, stage: str, file: Any, message: str
) -> None:
    shot = rendered.shots.get(order=1)
    before = Shot.objects.filter(pk=shot.pk).values().get()
    tasks = rendered.tasks.count()
    response = upload(api, shot, stage, file)
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]["message"]
    assert Shot.objects.filter(pk=shot.pk).values().get() == before
    assert rendered.tasks.count() == tasks


def test_regenerating_my_own_picture_asks_first_and_editing_its_prompt_keeps_it(
    api: APIClient, rendered: Project
) -> None:
    shot = rendered.shots.get(order=1)
    mine = upload(api, shot, "image", picture("PNG")).json()["image"]
    asked = api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "image"}, format="json")
    assert asked.status_code == 409
    assert "Shot 2's picture is your own upload" in asked.json()["error"]["message"]

    edited = api.patch(f"/api/v1/shots/{shot.id}", {"prompt": "a lighthouse at dawn"}, format="json")
    assert edited.status_code == 200 and edited.json()["image"] == mine  # still mine
    assert not shot.tasks.filter(kind="image", status__in=Task.UNFINISHED).exists()

    forced = api.post(f"/api/v1/shots/{shot.id}/generate", {"stage": "image", "force": True}, format="json")
    assert forced.status_code == 202 and forced.json()["kind"] == "image"


def test_another_users_shot_is_not_found(rendered: Project) -> None:
    stranger = CommittingAPIClient()
    stranger.force_authenticate(UserFactory())
    shot = rendered.shots.get(order=0)
    assert upload(stranger, shot, "image", picture("PNG")).status_code == 404


@pytest.mark.browser
def test_the_editor_puts_my_picture_on_the_card_refuses_a_bad_one_and_asks_before_replacing_it(
    server: str, page: Any, rendered: Project, tmp_path: Path
) -> None:
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    card = page.locator(".shot").nth(1)
    card.locator(".keyframe").wait_for()
    drawn = card.locator(".keyframe").get_attribute("src")
    shot = rendered.shots.get(order=1)

    broken = tmp_path / "broken.png"
    broken.write_bytes(b"this is not a picture")
    with page.expect_response(lambda r: r.url.endswith("/media")) as refused:
        card.locator(".own-file[data-stage=image]").set_input_files(str(broken))
    assert refused.value.status == 400
    card.locator(".action-error").wait_for(state="visible")
    assert card.locator(".action-error").inner_text().startswith("Invalid input: file: Not a picture that can be read")

    mine = tmp_path / "mine.png"
    Image.new("RGB", (640, 360), (10, 200, 10)).save(mine)
    with page.expect_response(lambda r: r.url.endswith("/media")) as answer:
        card.locator(".own-file[data-stage=image]").set_input_files(str(mine))
    assert answer.value.status == 200
    card.locator(".own-mark").wait_for(state="visible")
    assert card.locator(".own-mark").inner_text() == "Yours: your picture"
    assert card.locator(".keyframe").get_attribute("src") != drawn
    card.locator(".action-error").wait_for(state="hidden")  # the refusal's words go once this one is done

    page.once("dialog", lambda dialog: dialog.dismiss())  # "This is your own file. Replace it…?" No.
    shot_menu(card).locator(".regen[data-stage=image]").click()
    page.wait_for_timeout(500)
    assert not shot.tasks.filter(kind="image", status__in=Task.UNFINISHED).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: r.url.endswith("/generate")) as regenerated:
        card.locator(".regen[data-stage=image]").click()
    assert regenerated.value.status == 202


def test_a_picture_past_the_limit_is_refused_by_its_header_and_a_large_jpeg_is_read_at_a_smaller_scale(
    api: APIClient, rendered: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 115 KB PNG declaring 39.7 megapixels was decoded in the web process (4.1 s) before it was
    judged; a phone's photo (here 35 megapixels, JPEG) is decoded at half scale and kept."""
    from PIL import PngImagePlugin

    shot = rendered.shots.get(order=1)
    bomb = io.BytesIO()
    Image.new("1", (7_700, 5_160)).save(bomb, format="PNG")

    def decoded(*args: Any) -> None:
        raise AssertionError("the PNG was decoded")

    with monkeypatch.context() as patched:
        patched.setattr(PngImagePlugin.PngImageFile, "load", decoded)
        refused = upload(api, shot, "image", SimpleUploadedFile("big.png", bomb.getvalue()))
    assert refused.status_code == 400
    assert "file: The picture is 7700x5160 (39.7 megapixels); the most is 16.8" in refused.json()["error"]["message"]

    photo = io.BytesIO()
    Image.new("RGB", (7_000, 5_000), (30, 30, 200)).save(photo, format="JPEG", quality=80)
    kept = upload(api, shot, "image", SimpleUploadedFile("phone.jpg", photo.getvalue()))
    assert kept.status_code == 200, kept.content
    shot.refresh_from_db()
    with Image.open(shot.image_file.path) as stored:
        assert stored.size == (854, 480) and stored.getpixel((427, 240))[2] > 150
