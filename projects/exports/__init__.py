"""What a finished film can be downloaded as: each format declared once, in a module of its own
in this package (every module here is imported, so a new format is one new module): its name in
the URL (``/api/v1/projects/{id}/exports/{name}``, and the API's enum), its label and place on
the preview page, its content type and file name, and how it is made from the latest render.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.utils.functional import Promise
from django.utils.text import slugify

from core.errors import ApplicationError
from inference.text import file_name
from projects.models import Project
from projects.render import clips_ready


@dataclass(frozen=True)
class ExportRequest:
    project: Project
    base_url: str  # where the server is reached: a timeline on its own links its media under it
    drafts_folder: str  # a JianYing draft: the drafts folder it will be unpacked into ("": ask once)
    folder: Path  # a scratch folder of this request's, removed once the file is sent


@dataclass(frozen=True)
class Export:
    name: str
    label: str | Promise  # the preview page's link
    content_type: str
    suffix: str  # the downloaded file's name ends so, after the film's title
    make: Callable[[ExportRequest], Path]  # a stored file, or one made in the request's folder
    position: int  # on the preview page and in the API's enum
    offered: bool = True  # on the preview page and in the API's enum
    clips: bool = False  # carries the render's clips for an editor, so waits for them


EXPORTS: dict[str, Export] = {}


def register(export: Export) -> Export:
    if export.name in EXPORTS:
        raise ValueError(f"The {export.name!r} export is declared twice.")
    EXPORTS[export.name] = export
    return export


def exports_offered() -> list[Export]:
    return sorted((e for e in EXPORTS.values() if e.offered), key=lambda e: e.position)


def export_get(name: str) -> Export:
    """The export of that name (404, naming those there are, where there is none)."""
    export = EXPORTS.get(name)
    if export is None:
        raise ApplicationError(
            f"No such export; choose one of: {', '.join(e.name for e in exports_offered())}.", code="not_found"
        )
    return export


@contextmanager
def export_made(*, project: Project, export: Export, base_url: str = "", drafts_folder: str = "") -> Iterator[Path]:
    """The requested file of the latest render (409 when there is none); a file made for the
    request is removed when the block ends (an open handle keeps it readable until sent)."""
    if not project.render_video:
        raise ApplicationError(
            "The project has no film yet: render it first (POST /api/v1/projects/{id}/render).", code="conflict"
        )
    if export.clips:
        clips_ready(project)
    folder = Path(tempfile.mkdtemp(prefix="export-"))
    try:
        yield export.make(ExportRequest(project, base_url, drafts_folder, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def export_disposition(project: Project, export: Export) -> str:
    """``Content-Disposition`` for a download named after the project's title (RFC 6266): an
    ASCII name for old clients, and the title itself, Chinese included, as ``filename*``."""
    ascii_name = (slugify(project.title)[:60] or "storyvideo-film") + export.suffix
    title = file_name(project.title)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(title + export.suffix, safe='')}"


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
