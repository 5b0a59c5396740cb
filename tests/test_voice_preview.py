"""A voice is chosen by ear: GET /api/v1/voices/preview reads one line in an installed voice,
made once per voice and language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from inference.media import probe

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("voice", "language"), [("piper:en_US-joe-medium", "en"), ("espeak:cmn", "zh")])
def test_a_voice_reads_a_line_once_and_is_kept(api: Any, tmp_path: Path, voice: str, language: str) -> None:
    if voice not in api.get("/api/v1/voices").json()["voices"]:
        pytest.fail(f"{voice} should be installed by make setup")
    response = api.get("/api/v1/voices/preview", {"voice": voice, "language": language})
    assert response.status_code == 200 and response["Content-Type"] == "audio/wav", response.content[:300]
    wav = tmp_path / "preview.wav"
    wav.write_bytes(b"".join(response.streaming_content))
    assert probe(wav).audio_streams == 1 and probe(wav).duration > 1.0
    kept = list((settings.VAR_DIR / "cache" / "voices").glob("*.wav"))
    made = {p: p.stat().st_mtime_ns for p in kept}
    again = api.get("/api/v1/voices/preview", {"voice": voice, "language": language})
    assert b"".join(again.streaming_content) == wav.read_bytes()
    assert {p: p.stat().st_mtime_ns for p in kept} == made, "served from the cache, not made again"


def test_only_installed_voices_are_previewed(api: Any) -> None:
    for query, field in (
        ({"voice": "transformers:someorg/some-model"}, "voice"),
        ({"voice": "piper:../../etc/passwd"}, "voice"),
        ({"voice": "espeak:en-us", "language": "fr"}, "language"),
    ):
        response = api.get("/api/v1/voices/preview", query)
        assert response.status_code == 400, (query, response.content)
        assert field in response.json()["error"]["fields"], response.json()
