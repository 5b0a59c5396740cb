"""bench/gpu.py's table: the rows a GPU run fills, written between its device's markers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_empty_table(readme: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "bench/gpu.py", "--empty", "--write", "--readme", str(readme)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_empty_gpu_table_names_every_measurement_and_replaces_only_its_own_block(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    before = "intro\n<!-- gpu.py:cuda -->\nold table\n<!-- /gpu.py:cuda -->\nbetween\n"
    after = "<!-- gpu.py:cpu -->\ncpu table\n<!-- /gpu.py:cpu -->\nend\n"
    readme.write_text(before + after)
    run = write_empty_table(readme)
    assert run.returncode == 0, run.stderr
    text = readme.read_text()
    assert text.startswith("intro\n<!-- gpu.py:cuda -->\n*One NVIDIA GPU: not yet measured")
    assert text.endswith("<!-- /gpu.py:cuda -->\nbetween\n" + after)  # the CPU block untouched
    block = text.split("<!-- gpu.py:cuda -->\n")[1].split("<!-- /gpu.py:cuda -->")[0]
    rows = [line for line in block.splitlines() if line.startswith("| ") and not line.startswith("| stage")]
    assert all(line.endswith("|  |") for line in rows)  # no result: nothing estimated
    measured = "\n".join(rows)
    for dtype in ("float16", "bfloat16"):
        for batch in (1, 4, 8, 12):
            assert f"sd-turbo 512x512, 1 step, {dtype}, batch {batch} |" in measured
    for wanted in (
        "batch 4, channels-last",
        "batch 4, taesd",
        "batch 4, torch.compile",
        "batch 4, all three",
        "SVD img2vid, 14 frames, 25 steps, 1024x576",
        "512-token prompt, static cache, compiled",
        "a 12-shot answer (960 new tokens)",
        "12 lines side by side",
        "12-shot 1280x720 film",
        "story to MP4, 12 shots, 720p, cold (loads counted)",
        "story to MP4, 12 shots, 720p, warm",
    ):
        assert wanted in measured, wanted

    readme.write_text("no markers here\n")
    refused = write_empty_table(readme)
    assert refused.returncode != 0 and "has no <!-- gpu.py:cuda --> … <!-- /gpu.py:cuda --> markers" in refused.stderr
    assert readme.read_text() == "no markers here\n"
