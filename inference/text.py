"""Language detection and sentence splitting for Chinese, English and mixed text."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# A sentence ends at Chinese end punctuation (with any closing quotes after it), or at
# English end punctuation followed by whitespace or the end of the text.
_SENTENCE_END = re.compile(r"([。！？!?；;…]+[”’」』）)\"']*|\.(?=\s|$)[”’\"')]*)")


# Characters no story, title or prompt needs, and that break what is made from them (subtitles,
# timelines, PostgreSQL text): C0/C1 controls other than tab and newline, lone surrogates, and
# Unicode's noncharacters (U+FFFE once failed every compose in the subtitle writer).
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(chr(plane << 16 | 0xFFFE) + chr(plane << 16 | 0xFFFF) for plane in range(17))
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff" + _NONCHARACTERS + "]")
_LINE_BREAK = re.compile("\r\n|[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def clean_text(text: str, *, multiline: bool = True) -> str:
    """Text as people paste it (from PDFs, Word) or a model writes it, safe to store and render:
    every kind of line break becomes ``\n`` (or, with ``multiline=False``, all whitespace one
    space), and other control characters are removed."""
    text = _CONTROL.sub("", _LINE_BREAK.sub("\n", text))
    return text if multiline else " ".join(text.split())


def detect_language(text: str) -> str:
    """``zh`` when Chinese characters outnumber Latin words, else ``en``."""
    cjk = len(_CJK.findall(text))
    words = len(_LATIN_WORD.findall(text))
    return "zh" if cjk and cjk >= words else "en"


def has_cjk(text: str) -> bool:
    """Whether the text holds Chinese characters (which an English text encoder reads poorly)."""
    return bool(_CJK.search(text))


def split_sentences(text: str) -> list[str]:
    """Split into sentences, keeping their punctuation; no text is lost or reordered."""
    sentences: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        start = 0
        for match in _SENTENCE_END.finditer(line):
            piece = line[start : match.end()].strip()
            if piece:
                sentences.append(piece)
            start = match.end()
        tail = line[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def split_title(text: str) -> tuple[str, str]:
    """A first line followed by a blank line is a title: return ``(title, body)``."""
    parts = text.strip().split("\n", 2)
    if len(parts) >= 3 and not parts[1].strip() and len(parts[0].strip()) <= 120:
        return parts[0].strip(), parts[2].strip()
    return "", text.strip()


def file_name(title: str, default: str = "storyvideo-film") -> str:
    """A title as a file or folder name on any system: its characters (Chinese too) kept, those
    a file system refuses replaced."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]+', " ", title).strip(" .")[:80] or default
