"""How soon work goes on after the embedded Redis is killed (issue 25, finding 4).

As under ``make run`` with nothing configured: SQLite and the embedded Redis in a var folder of
this bench's own, and a real inference worker process. Each round kills the Redis server with
SIGKILL, at once asks for a keyframe (the draft back end: no weights here), and times the kill to
the task's start (``started_at``, written by the worker when it claims it) and to its end. Before
this change the work stalled until someone restarted a worker (4.5 minutes once). Prints the
median and the slowest, writes bench/out/redis_kill.json. Usage: python bench/redis_kill.py [N]
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
VAR = OUT / "redis-kill-var"
shutil.rmtree(VAR, ignore_errors=True)
for name in ("DATABASE_URL", "REDIS_URL"):  # this bench is about the embedded Redis
    os.environ.pop(name, None)
os.environ.update(STORYVIDEO_VAR_DIR=str(VAR), DJANGO_SETTINGS_MODULE="storyvideo.settings", HF_HUB_OFFLINE="1")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()
logging.disable(logging.WARNING)  # this process's own publishes fail while Redis is down: expected

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from projects.models import Project  # noqa: E402
from shots.models import Shot  # noqa: E402
from tasks import services  # noqa: E402
from tasks.models import Task  # noqa: E402


def wait(condition: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise SystemExit("timed out")


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    call_command("migrate", verbosity=0)
    owner, _ = get_user_model().objects.get_or_create(username="bench-owner")
    project = Project.objects.create(owner=owner, title="bench", story="bench.", language="en", auto_render=False)
    log = open(OUT / "redis_kill-worker.log", "wb")  # noqa: SIM115 - for the worker's life
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "worker", "inference"],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started, finished = [], []
    try:
        warm = Shot.objects.create(project=project, order=0, prompt="a lighthouse", narration="", seed=1)
        first = services.task_create(kind="image", project=project, shot=warm, params={"version": warm.image_version})
        wait(lambda: Task.objects.get(pk=first.pk).status == "finished")  # the worker is up and warm
        for order in range(1, rounds + 1):
            shot = Shot.objects.create(project=project, order=order, prompt="a lighthouse", narration="", seed=order)
            os.kill(int((VAR / "redis.pid").read_text()), signal.SIGKILL)
            killed = time.time()
            version = {"version": shot.image_version}
            task = services.task_create(kind="image", project=project, shot=shot, params=version)
            wait(lambda task=task: Task.objects.get(pk=task.pk).status == "finished")
            done = Task.objects.get(pk=task.pk)
            assert done.started_at is not None and done.finished_at is not None
            started.append(done.started_at.timestamp() - killed)
            finished.append(done.finished_at.timestamp() - killed)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()
    results = {
        "rounds": rounds,
        "kill_to_next_task_started_s_median": round(statistics.median(started), 2),
        "kill_to_next_task_started_s_max": round(max(started), 2),
        "kill_to_next_task_finished_s_median": round(statistics.median(finished), 2),
    }
    (OUT / "redis_kill.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
