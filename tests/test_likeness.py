"""A character's likeness from shot to shot (issue 29, part 3): its reference picture (one of its
shots' or the person's own) and how alike its pictures are, measured by a CLIP image encoder (a
tiny random one here, through the same loading code as openai/clip-vit-base-patch32) or, where
that cannot run, by the pictures' difference hashes, saying so; the shots that drift most named."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from rest_framework.test import APIClient

from inference.image import draft_card
from inference.likeness import clip_likeness, hash_likeness
from inference.models import Runtime
from projects.models import Character
from tasks.jobs import run_task
from tasks.models import Task
from tests import tiny_models
from tests.factories import ProjectFactory, ShotFactory


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_models.build_clip_vision(tmp_path_factory.mktemp("clip"))


def pictures(folder: Path) -> list[Path]:
    """Two drawings of the same card and a third of another: the third drifts."""
    made = []
    for index, (words, seed) in enumerate([("Ada at the lamp", 1), ("Ada at the lamp", 1), ("A storm at sea", 9)]):
        card = draft_card(words, width=320, height=180, style="noir" if seed == 9 else "ink", seed=seed,
                          path=folder / f"{index}.png")  # fmt: skip
        made.append(Path(card.path))
    return made


@pytest.mark.parametrize("measure", ["clip", "hash"])
def test_a_picture_unlike_the_rest_is_the_least_alike(measure: str, clip: Path, tmp_path: Path) -> None:
    shots = pictures(tmp_path)

    def alike(reference: Path | None) -> Any:
        if measure == "hash":
            return hash_likeness(shots, reference)
        return clip_likeness(shots, reference, model=str(clip), runtime=Runtime(models_dir=tmp_path))

    among = alike(None)
    assert among.against == "others" and len(among.similarities) == 3
    assert among.similarities[0] == pytest.approx(among.similarities[1])  # the same picture twice
    assert among.similarities[2] < among.similarities[0]  # (random weights: by a little, but always)
    assert among.score == pytest.approx(sum(among.similarities) / 3)
    against = alike(shots[0])  # the first picture is the reference: itself alike in full
    assert against.against == "reference" and against.similarities[0] == pytest.approx(1.0, abs=1e-5)
    assert against.similarities[2] < against.similarities[1] == pytest.approx(1.0, abs=1e-5)


@pytest.fixture
def cast(user: Any, tmp_path: Path) -> Character:
    """Ada in three shots with pictures (the third unlike the others) and a fourth shot without her."""
    from core.storage import store

    project = ProjectFactory(owner=user)
    ada = Character.objects.create(project=project, name="Ada", seed=3)
    for order, path in enumerate(pictures(tmp_path)):
        shot = ShotFactory(project=project, order=order)
        shot.image_file.name, shot.image_hash = store(path, folder="shots/image")
        shot.save()
        shot.characters.add(ada)
    ShotFactory(project=project, order=3)
    return ada


@pytest.mark.django_db(transaction=True)  # the task runs as a worker's job does, on its own connection
def test_a_likeness_check_names_the_shot_that_drifts(
    api: APIClient, cast: Character, clip: Path, settings: Any
) -> None:
    settings.LIKENESS_MODEL = f"transformers:{clip}"
    answer = api.post(f"/api/v1/characters/{cast.id}/likeness")
    assert answer.status_code == 202 and answer.json()["kind"] == "likeness"
    run_task(answer.json()["id"])
    task = Task.objects.get(pk=answer.json()["id"])
    assert task.status == "finished", task.message
    assert task.message.startswith("Ada: likeness ")
    likeness = api.get(f"/api/v1/characters/{cast.id}").json()["likeness"]
    assert likeness["against"] == "others" and likeness["backend"] == "transformers" and likeness["note"] == ""
    assert [s["number"] for s in likeness["shots"]] == [1, 2, 3] and 0 < likeness["score"] <= 1
    least = min(likeness["shots"], key=lambda s: s["similarity"])
    assert least["number"] == 3 and least["shotId"] == str(cast.shots.get(order=2).id)
    assert task.result["score"] == likeness["score"] and likeness["checkedAt"]


@pytest.mark.django_db(transaction=True)
def test_where_no_clip_encoder_is_here_the_hash_measures_and_says_so(api: APIClient, cast: Character) -> None:
    answer = api.post(f"/api/v1/characters/{cast.id}/likeness")  # openai/clip-vit-base-patch32 is not on disk
    run_task(answer.json()["id"])
    task = Task.objects.get(pk=answer.json()["id"])
    assert task.status == "finished" and "drifting most: shots 3 (regenerate their pictures)" in task.message
    likeness = Character.objects.get(pk=cast.pk).likeness
    assert likeness["backend"] == "hash" and likeness["drifting"] == [3]
    assert likeness["note"].startswith("hash ran instead of transformers:openai/clip-vit-base-patch32")

    # Its pictures change afterwards: the check says it is older than they are.
    seen = api.get(f"/api/v1/characters/{cast.id}").json()["likeness"]
    assert seen["stale"] is False and len(seen["shots"][0]["imageHash"]) == 64
    shot = cast.shots.get(order=1)
    shot.image_hash = "f" * 64  # a new picture, as a regeneration leaves it
    shot.save()
    assert api.get(f"/api/v1/characters/{cast.id}").json()["likeness"]["stale"] is True
    shot.characters.remove(cast)  # measured, no longer with her: stale too
    shot.image_hash = seen["shots"][1]["imageHash"]
    shot.save()
    assert api.get(f"/api/v1/characters/{cast.id}").json()["likeness"]["stale"] is True
    shot.characters.add(cast)
    assert api.get(f"/api/v1/characters/{cast.id}").json()["likeness"]["stale"] is False


@pytest.mark.django_db
def test_a_reference_picture_is_one_of_its_shots_or_your_own_and_a_bad_file_changes_nothing(
    api: APIClient, cast: Character
) -> None:
    url = f"/api/v1/characters/{cast.id}/reference"
    Character.objects.filter(pk=cast.pk).update(likeness={"score": 0.9})
    first = cast.shots.order_by("order").first()
    chosen = api.post(url, {"shotId": str(first.id)}, format="json")
    assert chosen.status_code == 200 and chosen.json()["referenceImage"] and chosen.json()["likeness"] == {}
    assert Character.objects.get(pk=cast.pk).reference_image.name == first.image_file.name  # shared, not copied
    other = ShotFactory(project=cast.project, order=9)  # not hers
    refused = api.post(url, {"shotId": str(other.id)}, format="json")
    assert refused.status_code == 400 and "Choose one of Ada's shots that has a picture" in str(refused.json())
    broken = api.post(url, {"file": io.BytesIO(b"not a picture")}, format="multipart")
    assert broken.status_code == 400 and Character.objects.get(pk=cast.pk).reference_image.name == first.image_file.name
    png = io.BytesIO()
    Image.new("RGB", (200, 300), "#aa3322").save(png, format="PNG")
    png.seek(0)
    png.name = "ada.png"
    own = api.post(url, {"file": png}, format="multipart")
    assert own.status_code == 200 and Character.objects.get(pk=cast.pk).reference_image.name.startswith(
        "characters/reference/"
    )
    assert api.post(url, {"shotId": "not an id"}, format="json").status_code == 400
    assert api.delete(url).json()["referenceImage"] is None


@pytest.mark.django_db
def test_where_the_tier_takes_an_image_prompt_a_new_reference_paints_the_characters_shots_again(
    api: APIClient, cast: Character, settings: Any
) -> None:
    """With an IP-Adapter for the project's tier the reference conditions the character's
    pictures: choosing one paints its other shots again (not the shot that is the reference, nor a
    shot without it), clearing it paints them all; without one, a reference only measures."""
    url = f"/api/v1/characters/{cast.id}/reference"
    first, _, third = cast.shots.order_by("order")  # the first two are the same picture
    measured = api.post(url, {"shotId": str(first.id)}, format="json")
    assert measured.status_code == 200 and measured.json()["referenceGuides"] is False
    assert not Task.objects.exists()  # no adapter: nothing to paint again
    settings.IMAGE_IP_ADAPTER = "h94/IP-Adapter:models/ip-adapter_sd15.safetensors"
    guiding = api.post(url, {"shotId": str(third.id)}, format="json")
    assert guiding.status_code == 200 and guiding.json()["referenceGuides"] is True
    painted = Task.objects.filter(kind="image")
    assert sorted(painted.values_list("shot__order", flat=True)) == [0, 1]
    Task.objects.all().delete()
    assert api.delete(url).status_code == 200
    assert sorted(painted.values_list("shot__order", flat=True)) == [0, 1, 2]
    cast.project.tier = "draft"
    cast.project.save(update_fields=["tier"])
    Task.objects.all().delete()
    assert api.post(url, {"shotId": str(first.id)}, format="json").status_code == 200
    assert not Task.objects.exists()  # the draft tier's cards take no image prompt


@pytest.mark.django_db
def test_too_few_pictures_to_compare_is_refused_at_once(api: APIClient, user: Any) -> None:
    project = ProjectFactory(owner=user)
    bo = Character.objects.create(project=project, name="Bo", seed=4)
    answer = api.post(f"/api/v1/characters/{bo.id}/likeness")
    assert answer.status_code == 409 and "a likeness needs two, or one and a reference picture" in str(answer.json())
    assert not Task.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.browser
def test_a_characters_looks_reference_likeness_and_voice_from_the_editor_in_both_languages(
    server: str, browser: Any, rendered: Any
) -> None:
    import threading

    from tests.browser import sign_in

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, server, rendered.owner.username)
    page.goto(f"{server}/projects/{rendered.id}/")
    page.wait_for_selector(".shot:nth-child(2)")
    page.fill("#character-form input[name=name]", "Ada")
    page.fill("#character-form textarea[name=description]", "the keeper")
    page.fill("#character-form textarea[name=appearance]", "grey eyes, short red hair")
    page.fill("#character-form input[name=clothing]", "a yellow oilskin coat")
    page.fill("#character-form input[name=age]", "in her sixties")
    page.fill("#character-form input[name=personality]", "gruff, kind to strays")
    page.click("#character-form button[type=submit]")
    page.wait_for_selector(
        "#characters li:has-text('grey eyes, short red hair; in her sixties; a yellow oilskin coat')"
    )
    ada = Character.objects.get(project=rendered, name="Ada")
    assert (ada.clothing, ada.personality) == ("a yellow oilskin coat", "gruff, kind to strays")
    # what is written of her ("in her sixties") suggests a voice: an old woman's
    casting = "#characters .use-suggested-voice"
    assert page.inner_text(casting) == "Give Ada an old woman's voice (espeak:en-us+f1)"
    option = "#character-form select[name=voice] option[value='espeak:en-us+f1']"
    page.wait_for_selector(option, state="attached")  # the voice list comes with its own request
    assert page.eval_on_selector(option, "o => o.textContent") == "espeak:en-us+f1 (an old woman's voice)"

    def cast_in_every_shot() -> None:  # off Playwright's thread: its live updates are published
        for shot in rendered.shots.all():
            shot.characters.add(ada)

    adding = threading.Thread(target=cast_in_every_shot)
    adding.start()
    adding.join()
    page.reload()
    page.wait_for_selector("#characters select.reference option:has-text('Reference: shot 2')", state="attached")
    with page.expect_response(lambda r: r.url.endswith("/reference") and r.status == 200):
        page.select_option("#characters select.reference", label="Reference: shot 1")
    page.wait_for_selector("#characters img.reference-picture")
    # this server has no IP-Adapter: the reference is what the likeness is measured against
    note = "Its shots' pictures are compared with it (the picture model here takes no reference)."
    assert page.inner_text("#characters .reference-note") == note
    assert Character.objects.get(pk=ada.pk).reference_image.name == rendered.shots.get(order=0).image_file.name
    with page.expect_response(lambda r: r.url.endswith("/likeness") and r.status == 202):
        page.click("#characters .check-likeness")
    task = Task.objects.get(kind="likeness")
    # run as a worker would, off this thread (whose event loop Playwright holds), so that its
    # live update reaches the page
    runner = threading.Thread(target=run_task, args=(str(task.id),))
    runner.start()
    runner.join()
    assert Task.objects.get(pk=task.pk).status == "finished"
    likeness = Character.objects.get(pk=ada.pk).likeness
    assert likeness["against"] == "reference" and likeness["shots"][0]["similarity"] == 1.0  # shot 1 is the reference
    said = (
        f"Likeness {likeness['score']:.2f}; drifting most: shots 2"
        if likeness["drifting"]
        else f"Likeness {likeness['score']:.2f}: alike in every shot"
    )
    page.wait_for_selector(f"#characters .likeness:has-text('{said}')")
    assert page.eval_on_selector("#characters select.reference", "s => s.value") == str(rendered.shots.get(order=0).id)

    chinese = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    zh = chinese.new_page()
    sign_in(zh, server, rendered.owner.username)
    zh.goto(f"{server}/projects/{rendered.id}/")
    zh.wait_for_selector(f"#characters .likeness:has-text('相似度 {likeness['score']:.2f}')")
    assert zh.inner_text("#characters .check-likeness") == "检查相似度"
    assert zh.inner_text("#characters .reference-note") == "它所在镜头的画面会与它比对（此处的画面模型不接受参考图）。"
    assert "性格" in zh.inner_text("#character-form") and "服装" in zh.inner_text("#character-form")
    assert zh.inner_text(casting) == "为Ada配上老年女声（espeak:en-us+f1）"
    zh.wait_for_selector(option, state="attached")
    assert zh.eval_on_selector(option, "o => o.textContent") == "espeak:en-us+f1 (老年女声)"
    with zh.expect_response(lambda r: f"/characters/{ada.id}" in r.url and r.request.method == "PATCH") as patched:
        zh.click(casting)
    assert patched.value.status == 200
    zh.wait_for_selector(casting, state="detached")  # drawn again: she has it
    assert (
        "espeak:en-us+f1" in zh.inner_text("#characters li")
        and Character.objects.get(pk=ada.pk).voice == "espeak:en-us+f1"
    )
    chinese.close()
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_check_of_a_character_deleted_meanwhile_is_discarded(api: APIClient, cast: Character) -> None:
    answer = api.post(f"/api/v1/characters/{cast.id}/likeness")
    assert api.delete(f"/api/v1/characters/{cast.id}").status_code == 204
    run_task(answer.json()["id"])
    task = Task.objects.get(pk=answer.json()["id"])
    assert task.status == "cancelled" and task.attempt == 1, "discarded at once, never retried"
