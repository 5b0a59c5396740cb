"""Task-engine overhead: enqueue-to-claim latency and per-task overhead for no-op tasks.

Runs N no-op tasks one after another (each enqueued when the last has finished) through
(a) our warm ``inference`` worker (RQ's SimpleWorker: no fork per job) and (b) RQ's default
forking worker, both running the same ``tasks.jobs.run_task``. Prints medians and writes
bench/out/tasks_overhead.json. Usage: python bench/tasks_overhead.py [N]
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
os.environ.setdefault("STORYVIDEO_VAR_DIR", str(OUT / "var"))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"  # the real settings, with the no-op handler
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from core.redis import get_redis  # noqa: E402
from projects.models import Project  # noqa: E402
from shots.models import Shot  # noqa: E402
from tasks import services  # noqa: E402
from tasks.models import Task  # noqa: E402
from tasks.queues import INFERENCE, get_queue  # noqa: E402


def start(command: list[str]) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(label: str, command: list[str], count: int) -> dict[str, float]:
    get_queue(INFERENCE).empty()
    cpu_before = children_cpu()
    worker = start(command)
    figures: dict[str, float] = {}
    try:
        user, _ = get_user_model().objects.get_or_create(username="bench")
        project = Project.objects.create(owner=user, title="bench", story="bench.", language="en", auto_render=False)
        shot = Shot.objects.create(project=project, order=0, prompt="noop", seed=1)
        warmup = 5
        to_claim, claim_to_done, round_trip = [], [], []
        for index in range(count + warmup):
            enqueued = time.time()
            task = services.task_create(kind="image", project=project, shot=shot, params={"version": 1})
            deadline = time.monotonic() + 60
            while True:
                task.refresh_from_db(fields=["status", "started_at", "finished_at"])
                if task.status in Task.ENDED:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{label}: task {task.id} did not finish")
                time.sleep(0.0005)
            done = time.time()
            if index < warmup or task.started_at is None or task.finished_at is None:
                continue
            to_claim.append((task.started_at.timestamp() - enqueued) * 1000)
            claim_to_done.append((task.finished_at.timestamp() - task.started_at.timestamp()) * 1000)
            round_trip.append((done - enqueued) * 1000)
        figures = {
            "enqueue_to_claim_ms_median": round(statistics.median(to_claim), 2),
            "enqueue_to_claim_ms_p90": round(statistics.quantiles(to_claim, n=10)[-1], 2),
            "claim_to_finish_ms_median": round(statistics.median(claim_to_done), 2),
            "round_trip_ms_median": round(statistics.median(round_trip), 2),
        }
    finally:
        worker.terminate()
        worker.wait(timeout=10)
    # The worker's CPU (and its job processes'), its start and idle beats included, per task run.
    figures["worker_cpu_ms_per_task"] = round((children_cpu() - cpu_before) * 1000 / (count + 5), 2)
    return figures


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    OUT.mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0)
    get_redis().ping()
    results = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "database": django.db.connection.vendor,
        "tasks": count,
        "warm_inference_worker": run("warm", [sys.executable, "manage.py", "worker", "inference"], count),
        "rq_forking_worker": run("forking", [sys.executable, "bench/forking_worker.py"], count),
    }
    (OUT / "tasks_overhead.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
