"""Time to a usable editor for a 60-shot project, and bytes transferred (images apart).

Starts the real ASGI server (daphne) on loopback with its own SQLite and embedded Redis, makes
a 60-shot project with a drawn keyframe per shot, then opens the editor RUNS times in a fresh
browser context (cold cache) of Debian's Chromium and records: the server's time to the HTML's
first byte, the time until all 60 cards are on the page (usable), the load event, the bytes of
every response that is not an image, and the bytes of the pictures the cards show.
Usage: python bench/editor.py [RUNS] [SCREENSHOTS_PREFIX]

With a prefix (``test-artifacts/editor/after``), it also keeps what a person sees: the editor (its
top, its first cards, the first card's menu open) and the film list, desktop (1366x900) and phone
(390x844), in an English and a Chinese browser.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
os.environ["STORYVIDEO_VAR_DIR"] = str(OUT / "editor-var")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "storyvideo.settings")
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from core.storage import store  # noqa: E402
from inference.image import draft_card  # noqa: E402
from projects.models import Project  # noqa: E402
from shots.models import Shot  # noqa: E402
from tests.browser import ARGS, CHROMIUM  # noqa: E402

SHOTS = 60
VIEWS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
LOCALES = {"en": "en-US", "zh": "zh-CN"}


def screenshots(browser: Any, state: Any, base: str, project: Project, prefix: Path) -> None:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    for view, size in VIEWS.items():
        for language, locale in LOCALES.items():
            context = browser.new_context(
                storage_state=state, viewport=size, locale=locale, is_mobile=view == "phone", device_scale_factor=1
            )
            page = context.new_page()
            page.goto(f"{base}/projects/{project.id}/")
            page.wait_for_selector(f".shot:nth-child({SHOTS})")
            page.wait_for_timeout(300)
            page.screenshot(path=f"{prefix}-editor-{view}-{language}.png")
            # The storyboard itself: the first cards at the top of the screen, then the first card's
            # menu (``.more``) open.
            page.evaluate("() => document.querySelector('.shot').scrollIntoView()")
            page.wait_for_timeout(100)
            page.screenshot(path=f"{prefix}-cards-{view}-{language}.png")
            height = page.evaluate("() => document.querySelector('.shot').getBoundingClientRect().height")
            print(f"a card's height, {view} {language}: {height:.0f} px of {size['height']}", file=sys.stderr)
            page.evaluate("() => { document.querySelector('.shot .more').open = true; }")
            page.evaluate("() => document.querySelector('.shot').scrollIntoView()")
            page.wait_for_timeout(100)
            page.screenshot(path=f"{prefix}-menu-{view}-{language}.png")
            page.goto(f"{base}/projects/")
            page.screenshot(path=f"{prefix}-list-{view}-{language}.png")
            context.close()


def make_project() -> Project:
    call_command("migrate", verbosity=0)
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username="bench")
    user.set_password("a-long-bench-password")
    user.save()
    Project.objects.filter(owner=user).delete()
    project = Project.objects.create(owner=user, title="Sixty shots", story="A story.", language="en")
    folder = OUT / "editor-cards"
    folder.mkdir(parents=True, exist_ok=True)
    for order in range(SHOTS):
        card = draft_card(
            f"Shot {order + 1}: a lighthouse keeper climbs the stairs",
            width=1280,  # the project's frame (720p), as the draft back end paints it
            height=720,
            style="cinematic",
            seed=order,
            path=folder / f"{order}.png",
        )
        name, digest = store(Path(card.path), folder="shots/image")
        Shot.objects.create(
            project=project,
            order=order,
            prompt=f"Shot {order + 1}: a lighthouse keeper",
            narration="Every evening Ada climbed the spiral stairs to light the great lamp.",
            seed=order,
            image_file=name,
            image_hash=digest,
            image_source="draft",
        )
    return project


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    prefix = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    from playwright.sync_api import sync_playwright

    project = make_project()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "storyvideo.asgi:application"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/api/v1/health", timeout=1)  # noqa: S310 - loopback
            break
        except OSError:
            time.sleep(0.1)
    samples: dict[str, list[float]] = {
        "html_server_ms": [],
        "usable_ms": [],
        "load_event_ms": [],
        "kb_no_images": [],
        "kb_keyframes": [],
        "wall_to_60_cards_ms": [],
    }
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            login = browser.new_context()
            page = login.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("#id_username", "bench")
            page.fill("#id_password", "a-long-bench-password")
            page.click("main button[type=submit]")
            page.wait_for_url("**/projects/")
            state = login.storage_state()
            for _ in range(runs + 1):  # the first is a warm-up of the server
                context = browser.new_context(storage_state=state)
                page = context.new_page()
                responses: list[Any] = []
                page.on("response", lambda item: responses.append(item))  # noqa: B023 - used at once
                started = time.perf_counter()
                response = page.goto(f"{base}/projects/{project.id}/")
                assert response is not None
                page.wait_for_selector(f".shot:nth-child({SHOTS})")
                wall = (time.perf_counter() - started) * 1000
                page.wait_for_load_state("load")
                usable = page.locator("html").evaluate(
                    "() => performance.getEntriesByName('storyvideo:usable')[0].startTime"
                )
                timing = response.request.timing
                navigation = page.locator("html").evaluate(
                    "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
                )
                size = 0
                for item in responses:
                    if item.request.resource_type == "image":
                        continue
                    sizes = item.request.sizes()
                    size += sizes["responseBodySize"] + sizes["responseHeadersSize"]
                # The pictures the 60 cards show, as chosen for the card's frame (a thumbnail or the
                # whole picture): the stored files' bytes (the transfer's own figure misses those
                # still arriving at the load event).
                page.wait_for_function(
                    "() => Array.from(document.querySelectorAll('.shot .keyframe')).every((i) => i.complete)"
                )
                shown = page.locator(".shot .keyframe").evaluate_all(
                    "images => images.map((i) => i.currentSrc || i.src)"
                )
                media = Path(settings.MEDIA_ROOT)
                pictures = sum((media / urlsplit(url).path.removeprefix("/media/")).stat().st_size for url in shown)
                samples["html_server_ms"].append(timing["responseStart"] - timing["requestStart"])
                samples["usable_ms"].append(usable)
                samples["wall_to_60_cards_ms"].append(wall)
                samples["load_event_ms"].append(navigation)
                samples["kb_no_images"].append(size / 1024)
                samples["kb_keyframes"].append(pictures / 1024)
                context.close()
            if prefix is not None:
                screenshots(browser, state, base, project, prefix)
            browser.close()
    finally:
        server.terminate()
        server.wait()
    result = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "shots": SHOTS,
        "runs": runs,
        **{key: round(statistics.median(values[1:]), 1) for key, values in samples.items()},
    }
    (OUT / "editor.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
