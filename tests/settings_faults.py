"""The settings of the engine tests' worker processes: the tests' own (tests/settings.py), plus an
app that registers the fault-injecting image handler (tests/fault_handlers.py) over the real one."""

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.apps.FaultHandlersConfig"]
