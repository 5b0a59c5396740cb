"""Finding a font that draws Chinese as well as Latin text."""

from __future__ import annotations

import contextlib
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


# The face for captions with no Chinese in them: a Latin design whose word spaces stay visible
# under an outline (Noto Sans CJK's Latin glyphs are narrow and their spaces nearly vanish).
LATIN_FAMILY = "DejaVu Sans"
_LATIN_KNOWN = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu/DejaVuSans.ttf")


@functools.cache
def latin_font_path() -> Path | None:
    """DejaVu Sans (Debian's fonts-dejavu-core), or None: Latin captions then use the CJK font."""
    return next((Path(p) for p in _LATIN_KNOWN if Path(p).is_file()), None)


def caption_fonts_dir(folder: Path) -> Path:
    """A folder holding (links to) the caption fonts, for libass's ``fontsdir``: the CJK font and,
    when installed, the Latin one."""
    folder.mkdir(parents=True, exist_ok=True)
    for font in (cjk_font_path(), latin_font_path()):
        if font is not None and not (folder / font.name).exists():
            with contextlib.suppress(FileExistsError):  # another segment linked it first
                (folder / font.name).symlink_to(font)
    return folder
