"""Everything about the project in one zip (``projects.bundles``), which imports back as a new
project."""

from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext_lazy as _

from projects.bundles import bundle_write
from projects.exports import Export, ExportRequest, register


def _bundle(request: ExportRequest) -> Path:
    return bundle_write(project=request.project, path=request.folder / "bundle.zip")


register(Export("bundle", _("Everything (bundle)"), "application/zip", ".zip", _bundle, position=80, clips=True))
