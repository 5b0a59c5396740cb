"""Finding 5: a project's voice is one of the voices installed here, never a model a worker
would download on a user's word; the loaded-model cache is bounded."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from inference.models import ModelCache
from tests.factories import ProjectFactory


@pytest.mark.django_db
def test_a_voice_must_be_installed_here_and_operators_extend_the_list(api: APIClient, user: Any, settings: Any) -> None:
    project = ProjectFactory(owner=user)
    voices = api.get("/api/v1/voices").json()["voices"]
    assert {"piper:en_US-joe-medium", "espeak:en-gb", "espeak:cmn-latn-pinyin", settings.SPEECH_MODEL_ZH} <= set(voices)
    assert not any(v.startswith("transformers:") for v in voices)
    for spec in ("transformers:someorg/some-model", "piper:de_DE-thorsten-high", "espeak:xx-nowhere"):
        answer = api.patch(f"/api/v1/projects/{project.id}", {"voice": spec}, format="json")
        assert answer.status_code == 400, spec
        assert "is not a voice installed here" in str(answer.json()["error"]["fields"]["voice"])
        create = api.post("/api/v1/projects", {"story": "A cat.", "voice": spec}, format="json")
        assert create.status_code == 400
    project.refresh_from_db()
    assert project.voice == ""

    settings.VOICES = ["transformers:facebook/mms-tts-eng"]
    assert "transformers:facebook/mms-tts-eng" in api.get("/api/v1/voices").json()["voices"]
    answer = api.patch(f"/api/v1/projects/{project.id}", {"voice": "transformers:facebook/mms-tts-eng"}, format="json")
    assert answer.status_code == 200 and answer.json()["voice"] == "transformers:facebook/mms-tts-eng"


def test_the_model_cache_keeps_at_most_its_limit_releasing_the_least_recently_used() -> None:
    cache = ModelCache(limit=2)
    loads: list[str] = []

    def loader(name: str) -> Any:
        def load() -> dict[str, str]:
            loads.append(name)
            return {"model": name}

        return load

    key = {name: ("test", name, "cpu", "float32") for name in "abc"}
    first = cache.get(key["a"], loader("a"))
    cache.get(key["b"], loader("b"))
    assert cache.get(key["a"], loader("a")) is first  # a hit: not loaded again, now the most recent
    cache.get(key["c"], loader("c"))  # over the limit: b, the least recently used, goes
    assert cache.loaded() == [key["a"], key["c"]]
    cache.get(key["b"], loader("b"))
    assert loads == ["a", "b", "c", "b"]
    assert len(cache.loaded()) == 2
