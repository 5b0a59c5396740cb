"""Finding a font that draws Chinese as well as Latin text."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from inference.errors import EngineError

_KNOWN = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)


@functools.cache
def cjk_font_path() -> Path:
    """A CJK-capable font file, or a clear error saying how to install one."""
    for candidate in _KNOWN:
        if Path(candidate).is_file():
            return Path(candidate)
    if Path("/usr/bin/fc-match").exists():
        found = subprocess.run(
            ["/usr/bin/fc-match", "-f", "%{file}", "Noto Sans CJK SC:lang=zh-cn"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if found and "CJK" in found and Path(found).is_file():
            return Path(found)
    raise EngineError(
        "No CJK font found: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk).", permanent=True
    )
