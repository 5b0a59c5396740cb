"""The settings of the engine tests' worker processes: the real ones, plus an app that registers
the fault-injecting image handler (tests/fault_handlers.py) over the real one."""

from storyvideo.settings import *  # noqa: F403
from storyvideo.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.apps.FaultHandlersConfig"]
