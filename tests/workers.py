"""Real RQ worker processes for the engine tests, pointed at the test database and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a worker that shares this test run's database and Redis."""
    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    env.update(
        REDIS_URL=settings.REDIS_URL,
        STORYVIDEO_VAR_DIR=str(settings.VAR_DIR),
        TASK_RETRY_BACKOFF_S="0.3",
        TASK_HEARTBEAT_S="0.3",
        RECONCILE_INTERVAL_S="1",
        TASK_ENQUEUE_SETTLE_S="0.5",
        TASK_PROGRESS_MIN_INTERVAL_S="0.1",
        DJANGO_SETTINGS_MODULE="tests.settings_faults",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


class WorkerProcess:
    def __init__(self, queue: str, log: Path, **env: str) -> None:
        self.queue = queue
        self.log = log
        self._handle = open(log, "ab")  # noqa: SIM115 - open for the life of the process
        self.process = subprocess.Popen(
            # "inference language": one worker for both queues
            [sys.executable, str(ROOT / "manage.py"), "worker", *queue.split()],
            cwd=ROOT,
            env=worker_env(**env),
            stdout=self._handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up, exactly as a crash or the OOM killer would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._handle.close()


# Whether the running test is marked ``worker`` (set by conftest for each test): a test that
# starts workers without the mark fails, so ``-m "not worker"`` really leaves them all out.
marked_worker = False


@contextmanager
def workers(tmp_path: Path, *queues: str, **env: str) -> Iterator[list[WorkerProcess]]:
    if not marked_worker:
        raise AssertionError("This test starts RQ workers: mark it @pytest.mark.worker.")
    logs = [tmp_path / f"worker-{queue.replace(' ', '+')}-{i}.log" for i, queue in enumerate(queues)]
    started = [WorkerProcess(queue, log, **env) for queue, log in zip(queues, logs, strict=True)]
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()
        # A killed worker's presence would stand for WORKER_PRESENCE_TTL_S more (as after a crash):
        # the next test starts without the word of this one's workers.
        from core.redis import get_redis

        redis = get_redis()
        for worker in started:
            for key in redis.scan_iter(match=f"storyvideo:alive:*:*:{worker.pid}", count=1000):
                redis.delete(key)


def wait_for(
    condition: Callable[[], Any], *, timeout: float = 60.0, what: str | Callable[[], str] = "condition"
) -> Any:
    """Poll until ``condition()`` is truthy; fail with ``what`` (or what it says when called: the
    state the test was waiting on) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what if isinstance(what, str) else what()}")


def run_in_thread(task_id: str) -> None:
    """Run a task as a worker would, in a thread of its own, and wait for it: a browser test
    drives the page from this thread, whose event loop the task's live updates must not share."""
    from django.db import connection

    from tasks.jobs import run_task

    def work() -> None:
        try:
            run_task(task_id)
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
