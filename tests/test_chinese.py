"""Every word a Chinese browser shows is Chinese (issue 26, item 6): a crawler over every page and
the editor's states reads what a person sees (text, labels, titles, placeholders, the options of
visible lists, the document's title) and fails on any English word the interface wrote. What the
person wrote is theirs and is written here in Chinese; names that are names in either language
(StoryVideo, MP4, the engines' own names) are listed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from inference.engines import Fallback
from projects.models import Project
from projects.sharing import link_create, link_path
from tasks.models import Task
from tests.browser import sign_in
from tests.factories import DRAFT_WHY, ProjectFactory, ShotFactory, UserFactory, finished, render, shot_with_media

pytestmark = pytest.mark.django_db(transaction=True)

# Names, not words: the product, file formats and units, the engines a notice names.
NAMES = {
    "StoryVideo", "MP4", "SRT", "WebVTT", "VTT", "OTIO", "OpenTimelineIO", "EDL", "FCP", "XML", "FCPXML",
    "JSON", "UTF", "txt", "zip", "GPU", "CPU", "API", "REST", "URL", "HTTP", "PNG", "JPEG", "WebP", "WAV",
    "MP3", "AAC", "LUFS", "dB", "dBTP", "px", "fps", "s", "ms", "KB", "MB", "GB", "MiB", "GiB", "ID",
    "espeak", "ng", "piper", "sd", "turbo", "SVD", "LTX", "FLUX", "CapCut", "JianYing", "Ken", "Burns",
    "Alt", "Ctrl", "Esc", "MCP", "JWT", "EBU", "CLIP", "x264", "ffmpeg",
}  # fmt: skip

CRAWL = """() => {
  const seen = [];
  const shown = (element) => element.checkVisibility({ visibilityProperty: true });
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    const text = node.textContent.trim();
    if (!text || !element || element.closest("script, style, textarea, noscript, code, kbd")) continue;
    // Words marked as another language's (an engine's own, a language's own name) are as they should be.
    if (!(element.closest("[lang]")?.lang || "zh").toLowerCase().startsWith("zh")) continue;
    const holder = element.closest("select") || element;
    const name = element.tagName.toLowerCase() + (element.className ? "." + element.className : "");
    if (shown(holder)) seen.push([text, name]);
  }
  for (const element of document.querySelectorAll("[title], [placeholder], [aria-label], [alt], input[type=submit]")) {
    if (!shown(element)) continue;
    for (const name of ["title", "placeholder", "aria-label", "alt"]) {
      const value = element.getAttribute(name);
      if (value) seen.push([value, `@${name} of ${element.tagName.toLowerCase()}`]);
    }
    if (element.tagName === "INPUT" && element.type === "submit") seen.push([element.value, "input[type=submit]"]);
  }
  seen.push([document.title, "title"]);
  return seen;
}"""


def english(page: Any, where: str) -> list[str]:
    """What the page shows in English words, each with where it was seen."""
    found = []
    for text, element in page.evaluate(CRAWL):
        # a path, an engine's id (a voice's variant too: espeak:en-us+f1); 480p
        text = re.sub(r"\S*[\\/]\S*|\b[a-z]+:[\w./+-]+|\d+[A-Za-z]+", "", text)
        words = [word for word in re.findall(r"[A-Za-z][A-Za-z0-9']*", text) if word not in NAMES]
        if words:
            found.append(f"{where}: {element}: {text!r}")
    return found


def open_everything(page: Any) -> None:
    """Every folded panel of the page opened, as a curious person would."""
    page.evaluate("() => document.querySelectorAll('details').forEach((panel) => { panel.open = true; })")
    page.evaluate("() => document.querySelectorAll('dialog').forEach((dialog) => dialog.show())")
    page.wait_for_load_state("networkidle")


@pytest.fixture
def chinese_film(transactional_db: None, tmp_path: Path) -> Project:
    """A two-shot Chinese film, rendered, of a person whose name is Chinese too."""
    user = UserFactory(username="小明")
    project = ProjectFactory(owner=user, language="zh", title="月兔", story="月亮上住着一只兔子。它每晚看着地球。")
    for order, line in enumerate(["月亮上住着一只兔子。", "它每晚看着地球。"]):
        shot = shot_with_media(project, order, line, tmp_path)
        shot.prompt = f"月亮上的兔子，第{order + 1}幕"
        shot.save(update_fields=["prompt"])
        for version in shot.versions.all():  # made from the factory's words
            version.fields = {**version.fields, "prompt": shot.prompt}
            version.save(update_fields=["fields"])
    task = render(project)
    assert task.status == "finished", task.message
    # The render's message as its sentences: the film's length and what its check found.
    assert [part["code"] for part in task.message_parts] == ["film_made", "checked_clean_at"], task.message
    project.refresh_from_db()
    return project


@pytest.mark.browser
def test_every_page_a_chinese_browser_opens_is_in_chinese(server: str, browser: Any, chinese_film: Project) -> None:
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    found: list[str] = []
    for path in ["/accounts/login/", "/accounts/signup/"]:
        page.goto(f"{server}{path}")
        found += english(page, path)

    sign_in(page, server, chinese_film.owner.username)
    link = link_path(link_create(project=chinese_film, by=chinese_film.owner))
    pages = [
        "/projects/",
        "/projects/new/",
        f"/projects/{chinese_film.id}/",
        f"/projects/{chinese_film.id}/preview/",
        link,
    ]
    for path in pages:
        page.goto(f"{server}{path}")
        page.wait_for_load_state("networkidle")
        open_everything(page)
        found += english(page, path)
    assert not found, "\n".join(found)
    context.close()


@pytest.mark.browser
def test_the_editor_in_each_state_of_work_is_in_chinese(server: str, browser: Any, chinese_film: Project) -> None:
    """Work waiting for a worker, a picture being painted, the film being rendered, a retry, a
    failure and the draft's notice: each said by the engine as the workers say it."""
    from inference.sentences import Sentence
    from projects.storyboards import storyboard_snapshot
    from tasks import services

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    sign_in(page, server, chinese_film.owner.username)
    shot = chinese_film.shots.get(order=1)
    found: list[str] = []

    def look(state: str) -> None:
        page.goto(f"{server}/projects/{chinese_film.id}/")
        page.locator(".shot").first.wait_for()
        open_everything(page)
        found.extend(english(page, state))

    picture = services.task_create(kind="image", project=chinese_film, shot=shot)
    look("a picture waits for a worker")

    claimed = services.task_claim(task_id=picture.id, worker="test")
    assert claimed is not None
    services.task_progress(
        task=claimed, progress=50, message=Sentence("step", "Step %(step)s of %(steps)s", step=2, steps=4)
    )
    look("a picture is painted")

    assert services.task_fail(task=claimed, error="CUDA out of memory", permanent=False) == "pending"
    look("a picture is tried again")
    note = page.locator(".shot").nth(1).locator(".task-message")
    assert note.inner_text().startswith("第 1 次尝试（共 3 次）失败，"), note.inner_text()
    assert note.locator("span[lang=en]").inner_text() == "CUDA out of memory"

    Task.objects.filter(pk=picture.pk).update(run_after=None, attempt=claimed.max_attempts - 1)  # its last try, now
    again = services.task_claim(task_id=picture.id, worker="test")
    assert again is not None
    assert services.task_fail(task=again, error="CUDA out of memory", permanent=False) == "failed"
    look("a picture failed")
    error = page.locator(".shot").nth(1).locator(".stage-error")
    assert error.inner_text() == "画面失败：CUDA out of memory。请点“重画画面”，或修改画面描述后保存。"
    assert error.locator("span[lang=en]").inner_text() == "CUDA out of memory"

    render = services.task_create(kind="compose", project=chinese_film)
    rendering = services.task_claim(task_id=render.id, worker="test")
    assert rendering is not None
    rendered = Sentence("rendered", "Shot %(done)s of %(shots)s rendered", done=1, shots=2)
    services.task_progress(task=rendering, progress=40, message=rendered)
    look("the film is rendered")
    assert page.inner_text("#film-progress").startswith("已渲染镜头 1，共 2 个")
    services.task_cancel(task=rendering)

    finished(chinese_film, "image", {"note": str(Fallback("draft", "diffusers:stabilityai/sd-turbo", DRAFT_WHY))})
    instruction = Sentence("before_rewrite", "Before the rewrite “%(instruction)s”", instruction="让夜色更深")
    storyboard_snapshot(project=chinese_film, reason=instruction)
    look("a draft stood in, and an earlier storyboard is kept")
    assert page.locator("#snapshots li").inner_text().startswith("改写“让夜色更深”之前 · 2 个镜头")
    notice = page.inner_text("#draft-notice")
    assert "用 草稿 代替" in notice and "的权重不在本机磁盘上" in notice, notice
    assert not found, "\n".join(found)
    context.close()


def test_a_tasks_message_is_kept_in_english_and_as_sentences(api: Any, user: Any) -> None:
    """The API keeps the English message and, beside it, the sentences it was made of."""
    from inference.sentences import Sentence, said
    from tasks import services

    project = ProjectFactory(owner=user)
    task = services.task_create(kind="image", project=project, shot=ShotFactory(project=project))
    claimed = services.task_claim(task_id=task.id, worker="test")
    assert claimed is not None
    step = Sentence("step", "Step %(step)s of %(steps)s", step=1, steps=4)
    assert services.task_progress(task=claimed, progress=25, message=said(step, "the scheduler warmed up."))
    body = api.get(f"/api/v1/tasks/{task.id}").json()
    assert body["message"] == "Step 1 of 4 the scheduler warmed up."
    assert body["messageParts"] == [
        {"code": "step", "step": 1, "steps": 4},
        {"code": "words", "text": "the scheduler warmed up."},
    ]

    assert services.task_fail(task=claimed, error="CUDA out of memory", permanent=False) == "pending"
    body = api.get(f"/api/v1/tasks/{task.id}").json()
    assert (
        body["message"]
        == f"Attempt 1 of 3 failed; retrying in {body['messageParts'][0]['delay']} s: CUDA out of memory"
    )
    assert body["messageParts"][0] | {"delay": 0} == {
        "code": "retrying", "attempt": 1, "attempts": 3, "delay": 0, "why": "CUDA out of memory"
    }  # fmt: skip

    services.task_cancel(task=task)
    body = api.get(f"/api/v1/tasks/{task.id}").json()
    assert (body["message"], body["messageParts"]) == ("Cancelled by the user.", [{"code": "cancelled_by_user"}])
