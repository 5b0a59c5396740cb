"""What an engine or a job says about its work, in English and as sentence codes with values, so
that the reader's interface can say it in their own language (the editor's MESSAGE_SENTENCES).

A ``Sentence`` is a ``str`` (its English words): it goes wherever a message goes, a log line or a
progress callback, and whoever stores it reads ``parts`` beside the words: one ``{"code", ...values}``
per sentence, and ``{"code": "words", "text"}`` for words said as they are (an engine's own
error). Any string operation on it (a slice, ``+``) gives back plain words without the parts:
``said`` joins sentences keeping them."""

from __future__ import annotations

import re
from typing import Any


class Sentence(str):
    parts: list[dict[str, Any]]

    def __new__(cls, code: str, english: str, **values: Any) -> Sentence:
        return _sentence(english % values if values else english, [{"code": code, **values}])


def _sentence(words: str, parts: list[dict[str, Any]]) -> Sentence:
    made = str.__new__(Sentence, words)
    made.parts = parts
    return made


def said(*pieces: str, sep: str = " ") -> Sentence:
    """Sentences and plain words as one message, each keeping its code."""
    kept = [piece for piece in pieces if piece]
    parts = [part for piece in kept for part in getattr(piece, "parts", [{"code": "words", "text": piece}])]
    return _sentence(sep.join(kept), parts)


def remade(words: str, parts: list[dict[str, Any]]) -> Sentence | str:
    """Words stored beside their sentences' parts, as the sentence they were (plain words where
    none were kept)."""
    return _sentence(words, parts) if parts else words


# Sentences more than one engine says.
def asking(model: str, attempt: int) -> Sentence:
    return Sentence("asking", "Asking %(model)s (attempt %(attempt)s)", model=model, attempt=attempt)


def denoising(step: int, steps: int) -> Sentence:
    return Sentence("step", "Step %(step)s of %(steps)s", step=step, steps=steps)


def spoken(sentence: int, sentences: int) -> Sentence:
    return Sentence("sentence", "Sentence %(n)s of %(count)s", n=sentence, count=sentences)


def understood(words: str, sentences: dict[str, str]) -> Sentence | str:
    """Words read back as the sentence of ``sentences`` (code -> English with ``%(name)s``) they
    were made from, for words kept as text (a note in a task's result); else the words as they are."""
    for code, english in sentences.items():
        pattern = re.sub(r"%\\\((\w+)\\\)s", r"(?P<\1>.+?)", re.escape(english))
        found = re.fullmatch(pattern, words)
        if found:
            return Sentence(code, english, **found.groupdict())
    return words
