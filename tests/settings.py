"""The test run's settings: the real ones, with a fast password hasher, and under pytest-xdist a
folder and a Redis database of each worker's own.

Each xdist worker (``gw0``, ``gw1``…) gets ``STORYVIDEO_VAR_DIR/<worker>`` (so its own SQLite
file, embedded Redis, media and caches) and, where ``REDIS_URL`` names a server, the database
numbered one past the given one plus its index (``/0`` becomes ``/1`` for ``gw0``, ``/2`` for
``gw1``). The values are written back into the environment, so that every process a test
starts (workers, web servers, commands) shares them; the marker keeps a process that loads these
settings again from moving them a second time. PostgreSQL gets a database per worker from
pytest-django itself (``test_<name>_gw0``).
"""

from __future__ import annotations

import os
import re

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker and os.environ.get("STORYVIDEO_TEST_WORKER") != _worker:
    _index = int(re.sub(r"\D", "", _worker) or 0)
    _var = os.environ.get("STORYVIDEO_VAR_DIR") or os.path.join(os.path.dirname(os.path.dirname(__file__)), "var")
    os.environ["STORYVIDEO_VAR_DIR"] = os.path.join(_var, _worker)
    _redis = os.environ.get("REDIS_URL", "")
    _numbered = re.match(r"^(rediss?://[^/?#]*)/?(\d*)(.*)$", _redis)
    if _numbered:
        _db = int(_numbered.group(2) or 0) + 1 + _index
        os.environ["REDIS_URL"] = f"{_numbered.group(1)}/{_db}{_numbered.group(3)}"
    os.environ["STORYVIDEO_TEST_WORKER"] = _worker
    # The workers share the cores: torch's and OpenMP's threads (every core each, by default)
    # would spin against each other's.
    _threads = str(max(1, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)))
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_name, _threads)

# An edit's render waits COMPOSE_SETTLE_S for the next edit; tests that edit and then run the
# render at once would wait it out (tests/test_edits.py sets it where it is the subject). In the
# environment, so that the processes a test starts share it.
os.environ.setdefault("COMPOSE_SETTLE_S", "0")

from storyvideo.settings import *  # noqa: E402, F403

# Hashing a password the production way costs a quarter of a second of CPU; the suite makes
# hundreds of users. Nothing here tests the hasher's strength.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
