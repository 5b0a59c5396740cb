"""Start-up checks: what the engines need from the machine, said before any work fails."""

from __future__ import annotations

import shutil
from typing import Any

from django.core import checks

from inference.errors import EngineError
from inference.fonts import cjk_font_path


@checks.register()
def media_tools(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    try:
        cjk_font_path()
    except EngineError as exc:
        messages.append(
            checks.Warning(str(exc), hint="Chinese subtitles and draft cards need it.", id="storyvideo.W001")
        )
    for program, package in (("ffprobe", "ffmpeg"), ("espeak-ng", "espeak-ng")):
        if shutil.which(program) is None:
            messages.append(
                checks.Warning(f"{program} is not installed.", hint=f"apt-get install {package}", id="storyvideo.W002")
            )
    return messages
