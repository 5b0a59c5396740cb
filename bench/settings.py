"""The task-engine benchmark's settings: the real ones, plus an app that registers the no-op image
handler (bench/noop_handlers.py) over the real one."""

from storyvideo.settings import *  # noqa: F403
from storyvideo.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.NoopHandlersConfig"]
