"""Composition benchmark: a 720p24 film of 12, 48 and 120 shots (camera moves, dissolves,
burned-in subtitles, narration) made several ways, plus the recompose after editing one shot.

1. this project (``inference.compose.compose_film``, cold cache);
2. a plain MoviePy script (ImageClip zoom, CrossFadeIn, TextClip captions, CompositeVideoClip);
3. one hand-written ffmpeg filter graph (zoompan per shot, an xfade chain, libass captions);
4. the ``-c copy`` join of pre-encoded segments (the floor: what no renderer can beat);
5. this project again after one shot's narration changed (warm cache);
6. ``clips``: the editor's clips after a full compose (a task of its own, after the film).

Each way runs in its own process, at least RUNS times; we report the median wall time and CPU
time (user + system of the whole process tree, ffmpeg included), the real-time factor (film
seconds per wall second) and the peak memory of the whole process tree.
Usage: python bench/compose.py [RUNS] [WAY ...] [--shots=12,48,120]   (writes
bench/out/compose.json; ways default to all: project edit graph floor moviepy; named only: clips, the
editor's clips after a full compose; unchecked: the project without its film check; warm: a full
compose and the recompose after the edit in one process, as the media worker runs them); floor and
moviepy run at 12 shots only)
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out" / "compose"
W, H = 1280, 720
EDIT_LINE = "And then, quite suddenly, everything changed."
CAMERAS = ["zoom_in", "pan_right", "zoom_out", "pan_left", "pan_up", "pan_down"]


def story_lines(shots: int) -> list[str]:
    """The lighthouse story in ``shots`` lines; for more shots than it has clauses, its
    sentences again, numbered (“Part 2: …”) so that no two shots are the same."""
    from inference.storyboard import group_balanced
    from inference.text import split_title

    text = (ROOT.parent / "shared" / "stories" / "lighthouse.en.txt").read_text(encoding="utf-8")
    clauses = [c.strip() + "," for s in split_title(text)[1].replace("\n", " ").split(". ") for c in s.split(", ")]
    if shots <= 12:
        return [" ".join(group).rstrip(",") + "." for group in group_balanced(clauses, shots)]
    sentences = [s.strip().rstrip(".") + "." for s in split_title(text)[1].replace("\n", " ").split(". ") if s.strip()]
    return [f"Part {i // len(sentences) + 1}: {sentences[i % len(sentences)]}" for i in range(shots)]


def prepare(shots_wanted: int, out: Path) -> list[dict[str, object]]:
    from inference.image import draft_card
    from inference.speech import espeak

    folder = out / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    shots = []
    for index, line in enumerate(story_lines(shots_wanted)):
        image = draft_card(
            f"Shot {index + 1}: {line}",
            width=1536,
            height=864,
            style="cinematic",
            seed=index,
            path=folder / f"k{index:02d}.png",
        )
        speech = espeak(line, language="en", path=folder / f"s{index:02d}.wav")
        shots.append(
            {
                "image": image.path,
                "audio": speech.path,
                "speech": speech.duration,
                "text": line,
                "camera": CAMERAS[index % len(CAMERAS)],
            }
        )
    # the edit's new narration, spoken ahead: a recompose takes the speech stage's file, it speaks nothing
    edit = espeak(EDIT_LINE, language="en", path=folder / "edit.wav")
    (folder / "edit.json").write_text(json.dumps({"audio": edit.path, "speech": edit.duration, "text": EDIT_LINE}))
    (folder / "shots.json").write_text(json.dumps(shots))
    return shots


def children_cpu() -> float:
    """CPU seconds (user and system) of this process's children that have ended, and theirs."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def measure(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of the command's whole process tree (its
    CPU counts every process it ran and waited for: ffmpeg included)."""
    peak = 0
    cpu_before = children_cpu()
    started = time.perf_counter()
    process = psutil.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed: {err.decode()[-800:]}")
    return time.perf_counter() - started, children_cpu() - cpu_before, peak / 2**20


WAY = r"""
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
shots = json.loads(Path({inputs!r}).read_text())
way, out = sys.argv[1], Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
W, H = {w}, {h}
from inference.compose import FPS, ShotInput, compose_film, plan
inputs = [ShotInput(image=Path(s["image"]), duration=s["speech"] + 0.6, camera=s["camera"], transition="dissolve",
                    narration=s["text"], audio=Path(s["audio"]), audio_duration=s["speech"]) for s in shots]
edited = json.loads((Path({inputs!r}).parent / "edit.json").read_text())


def edit_one(shots):
    shots[5].narration, shots[5].audio = edited["text"], Path(edited["audio"])
    shots[5].audio_duration, shots[5].duration = edited["speech"], edited["speech"] + 0.6


if way == "edit":
    edit_one(inputs)
if way == "warm":
    # as the media worker does: one process composes the film, then the film after the edit
    import resource, time
    def used():
        return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                   for f in ("ru_utime", "ru_stime"))
    measured = {{}}
    for name in ("full", "edit"):
        if name == "edit":
            edit_one(inputs)
        wall, cpu = time.perf_counter(), used()
        compose_film(inputs, width=W, height=H, cache_dir=out / "cache", out_dir=out / "film")
        measured[name] = [time.perf_counter() - wall, used() - cpu]
    (out / "warm.json").write_text(json.dumps(measured))
if way == "clips":
    # the clips task after a full compose (its render cache): each shot's clip for an editor
    from inference.compose import editor_clip, segment_folders
    placements = plan(inputs, width=W, height=H)
    folders = segment_folders(inputs, placements, width=W, height=H, cache_dir=out / "cache", burn=True)
    for i, (s, p, f) in enumerate(zip(inputs, placements, folders)):
        editor_clip(s, p, width=W, height=H, folder=f, path=out / f"clip-{{i:03d}}.mp4")
if way in ("project", "edit", "unchecked"):
    extra = {{"check": False}} if way == "unchecked" else {{}}
    film = compose_film(inputs, width=W, height=H, cache_dir=out / "cache", out_dir=out / "film", **extra)
    (out / "encoded.json").write_text(json.dumps({{"segments": film.encoded_segments,
                                                  "transitions": film.encoded_transitions,
                                                  "sound": getattr(film, "encoded_sound", None)}}))
elif way == "moviepy":
    from moviepy import AudioFileClip, CompositeAudioClip, CompositeVideoClip, ImageClip, TextClip, vfx
    from inference.fonts import cjk_font_path
    font = str(cjk_font_path())
    clips, audio, start = [], [], 0.0
    for i, s in enumerate(shots):
        length = s["speech"] + 0.6 + (0.5 if i else 0) + 0.5
        still = ImageClip(s["image"]).resized(height=H)
        moving = still.resized(lambda t, L=length: 1 + 0.15 * t / L).with_position("center").with_duration(length)
        caption = (TextClip(font=font, text=s["text"], font_size=37, color="white", stroke_color="black",
                            stroke_width=2, method="caption", size=(int(W * 0.88), None))
                   .with_position(("center", 0.78), relative=True).with_duration(s["speech"]))
        shot = CompositeVideoClip([moving, caption.with_start(0.5 if i else 0)], size=(W, H)).with_duration(length)
        if i:
            shot = shot.with_effects([vfx.CrossFadeIn(0.5)])
        clips.append(shot.with_start(start))
        audio.append(AudioFileClip(s["audio"]).with_start(start + (0.5 if i else 0)))
        start += length - 0.5
    film = CompositeVideoClip(clips, size=(W, H)).with_audio(CompositeAudioClip(audio))
    film.write_videofile(str(out / "moviepy.mp4"), fps=FPS, codec="libx264", audio_codec="aac", preset="veryfast",
                         threads=os.cpu_count(), logger=None)
elif way in ("graph", "floor"):
    import subprocess
    from inference import kenburns
    from inference.compose import TRANSITION_FRAMES
    from inference.media import ffmpeg_exe
    from inference.subtitles import to_ass
    placements = plan(inputs, width=W, height=H)
    if way == "floor":
        # the segments this project already encoded, joined by stream copy with the sound track
        cache = Path(sys.argv[3])
        parts = sorted(cache.glob("seg-*/core.mp4"))
        (out / "list.txt").write_text("".join(f"file '{{p}}'\n" for p in parts))
        subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(out / "list.txt"),
                        "-i", shots[0]["audio"], "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
                        "-movflags", "+faststart", str(out / "floor.mp4")], check=True)
        raise SystemExit
    args, chains, lengths = [], [], []
    for i, (s, p) in enumerate(zip(inputs, placements)):
        frames = p.head + p.core + p.tail
        lengths.append(frames / FPS)
        args += ["-i", str(s.image)]
        chains.append(f"[{{i}}:v]{{kenburns.zoompan_filter(s.camera, frames, W, H, FPS)}},format=yuv420p[v{{i}}]")
    running, last = lengths[0], "v0"
    for i in range(1, len(inputs)):
        offset = running - TRANSITION_FRAMES / FPS
        chains.append(f"[{{last}}][v{{i}}]xfade=transition=fade:duration={{TRANSITION_FRAMES / FPS}}"
                      f":offset={{offset:.4f}}[x{{i}}]")
        last, running = f"x{{i}}", offset + lengths[i]
    cues = [c for p in placements for c in p.cues]
    (out / "film.ass").write_text(to_ass(cues, width=W, height=H, font_name="Noto Sans CJK SC"), encoding="utf-8")
    chains.append(f"[{{last}}]subtitles=film.ass,format=yuv420p[video]")
    audio = []
    for i, (s, p) in enumerate(zip(inputs, placements)):
        args += ["-i", str(s.audio)]
        delay = round(p.start / FPS * 1000)
        chains.append(f"[{{len(inputs) + i}}:a]adelay={{delay}}|{{delay}}[a{{i}}]")
        audio.append(f"[a{{i}}]")
    chains.append(f"{{''.join(audio)}}amix=inputs={{len(audio)}}:normalize=0[audio]")
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", *args, "-filter_complex", ";".join(chains), "-map", "[video]",
                    "-map", "[audio]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-c:a", "aac",
                    "-movflags", "+faststart", "graph.mp4"], check=True, cwd=out)
"""


def run_length(shots_wanted: int, runs: int, ways: set[str], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Every way asked for, at one length; ``results`` holds this length's earlier figures."""
    out = OUT / str(shots_wanted)
    out.mkdir(parents=True, exist_ok=True)
    shots = prepare(shots_wanted, out)
    script = out / "way.py"
    script.write_text("import os\n" + WAY.format(root=str(ROOT), inputs=str(out / "inputs" / "shots.json"), w=W, h=H))
    film_seconds = sum(float(str(s["speech"])) + 0.6 for s in shots) + 0.5 * len(shots)

    def record(name: str, times: list[float], cpus: list[float], peaks: list[float]) -> None:
        median = statistics.median(times)
        results[name] = {
            "median_s": round(median, 2),
            "runs_s": [round(t, 2) for t in times],
            "cpu_median_s": round(statistics.median(cpus), 2),
            "cpu_runs_s": [round(c, 2) for c in cpus],
            "realtime_x": round(film_seconds / median, 2),
            "peak_mib": round(max(peaks)),
        }
        print(shots_wanted, name, results[name], flush=True)

    def run_way(name: str, extra: list[str] | None = None) -> None:
        times, cpus, peaks = [], [], []
        for _ in range(runs):
            folder = out / name
            shutil.rmtree(folder, ignore_errors=True)
            wall, cpu, peak = measure([sys.executable, str(script), name, str(folder), *(extra or [])])
            times.append(wall)
            cpus.append(cpu)
            peaks.append(peak)
        record(name, times, cpus, peaks)

    # The hand-written graph and this project alternate, so that both see the same hour.
    for name in ("project", "graph", "unchecked"):
        if name in ways or (name == "project" and ways & {"edit", "floor", "clips"}):
            run_way(name)

    def after_project(name: str) -> None:
        """A way that starts from a full compose's folder (its render cache warm)."""
        times, cpus, peaks = [], [], []
        for _ in range(runs):
            folder = out / name
            shutil.rmtree(folder, ignore_errors=True)
            shutil.copytree(out / "project", folder)
            wall, cpu, peak = measure([sys.executable, str(script), name, str(folder)])
            times.append(wall)
            cpus.append(cpu)
            peaks.append(peak)
        record(name, times, cpus, peaks)

    # the recompose: a warm cache from a full compose, then one narration changed
    if "edit" in ways:
        after_project("edit")
        encoded = json.loads((out / "edit" / "encoded.json").read_text())
        results["edit"].update(encoded_segments=encoded["segments"], encoded_transitions=encoded["transitions"],
                               encoded_sound=encoded["sound"])  # fmt: skip
    # the clips for an editor, made by a task of their own after the film
    if "clips" in ways:
        after_project("clips")
    # the same in a warm process, as the media worker runs one compose after another
    if "warm" in ways:
        warm: dict[str, list[list[float]]] = {"full": [], "edit": []}
        for _ in range(runs):
            folder = out / "warm"
            shutil.rmtree(folder, ignore_errors=True)
            measure([sys.executable, str(script), "warm", str(folder)])
            for name, (wall, cpu) in json.loads((folder / "warm.json").read_text()).items():
                warm[name].append([wall, cpu])
        for name, figures in warm.items():
            record(f"warm_{name}", [w for w, _ in figures], [c for _, c in figures], [0.0])
    if "floor" in ways and shots_wanted == 12:
        run_way("floor", extra=[str(out / "project" / "cache")])
    if "moviepy" in ways and shots_wanted == 12:
        run_way("moviepy")

    def ratio(a: str, b: str, of: str = "median_s", digits: int = 3) -> float | None:
        if of not in results.get(a, {}) or of not in results.get(b, {}):
            return None
        return round(results[a][of] / results[b][of], digits)

    return {
        "film_seconds": round(film_seconds, 2),
        "shots": shots_wanted,
        "project_vs_graph": ratio("project", "graph", digits=2),
        "project_vs_graph_cpu": ratio("project", "graph", "cpu_median_s", digits=2),
        "moviepy_vs_project": ratio("moviepy", "project", digits=2),
        "edit_vs_full": ratio("edit", "project"),
        "edit_vs_full_cpu": ratio("edit", "project", "cpu_median_s"),
        "unchecked_vs_full_cpu": ratio("unchecked", "project", "cpu_median_s"),  # 1 - what the check costs
        "clips_vs_full_cpu": ratio("clips", "project", "cpu_median_s"),  # the editor's clips, after the film
        "warm_edit_vs_full": ratio("warm_edit", "warm_full"),
        "warm_edit_vs_full_cpu": ratio("warm_edit", "warm_full", "cpu_median_s"),
        "results": results,
    }


def main() -> None:
    lengths = [12, 48, 120]
    arguments = []
    for argument in sys.argv[1:]:
        if argument.startswith("--shots="):
            lengths = [int(n) for n in argument.removeprefix("--shots=").split(",")]
        else:
            arguments.append(argument)
    runs = int(arguments[0]) if arguments else 3
    ways = set(arguments[1:]) or {"project", "edit", "graph", "floor", "moviepy"}
    previous_file = OUT.parent / "compose.json"
    previous = json.loads(previous_file.read_text()) if previous_file.exists() else {}
    lengths_done = previous.get("lengths", {}) if isinstance(previous.get("lengths"), dict) else {}
    for shots in lengths:
        earlier = lengths_done.get(str(shots), {}).get("results", {})
        lengths_done[str(shots)] = run_length(shots, runs, ways, earlier)
    summary = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "size": f"{W}x{H}@24",
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "lengths": lengths_done,
    }
    previous_file.write_text(json.dumps(summary, indent=2))
    print(json.dumps({n: {k: v for k, v in d.items() if k != "results"} for n, d in lengths_done.items()}, indent=2))


if __name__ == "__main__":
    main()
