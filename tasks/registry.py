"""The kinds of work the task engine runs, each declared once by the app that owns it.

A kind is a subclass of :class:`Kind` registered with :func:`register`: its name, the queue it
runs on, the timeout of one attempt, how many tasks one engine call may take, ``run`` (the slow
part, outside any transaction, with plain values), ``apply`` (attaches the output inside the
transaction that finishes the task), and its ``policy``: which errors a retry can help, how a
batch splits when it runs out of memory, what an attempt used and what to end when the worker
stops. The engine reads everything from here and knows no kind by name. Apps put their
declarations in a ``kinds`` module, which the tasks app imports at start-up
(``TasksConfig.ready``); a name registered twice is refused, and so is a task of a kind nobody
registered, before anything is written.

The apps also say what follows a job that settled tasks of a project (:func:`on_tasks_settled`:
the film derives its project's status there).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from django.conf import settings

if TYPE_CHECKING:
    from tasks.models import Task

T = TypeVar("T")
R = TypeVar("R")

# progress(fraction 0..1, message): how a running task reports; it raises TaskStoppedError when the
# task is no longer the attempt's to run, so the work stops between two steps.
Progress = Callable[[float, str], None]


class SupersededError(Exception):
    """The output is for an outdated version of what it was made for: discard it."""


class TaskStoppedError(Exception):
    """Raised from a progress report: the task was cancelled, superseded or taken back."""


class Meter(Protocol):
    """What one attempt used, as its policy measured it."""

    device: str

    def amounts(self) -> dict[str, float]: ...


class Policy(Protocol):
    """How the work of a kind behaves where the engine cannot know it: the engines' own rules
    (``inference.policy``), or :data:`PLAIN`."""

    def failure(self, exc: BaseException) -> tuple[str, bool, bool] | None:
        """What the error means: its message; whether it is permanent (no retry can help);
        whether it waits (something outside the task holds it up, a full disk: it is tried
        again, attempts not counted, for as long as a person may need to put it right,
        TASK_WAIT_FOR_RESOURCE_S). None where the error is unexpected (taken as transient:
        retried, then failed)."""
        ...

    def in_parts(self, run: Callable[[list[T]], list[R]], items: list[T]) -> list[R]:
        """``run(items)``, split into smaller runs where the work needs it (out of memory)."""
        ...

    def metered(self) -> AbstractContextManager[Meter]:
        """A meter open around one attempt."""
        ...

    def stop(self) -> object:
        """End what the running work started outside this process (the worker is stopping)."""
        ...


class _NoMeter:
    device = ""

    def amounts(self) -> dict[str, float]:
        return {}


class _Plain:
    """Work with no rules of its own: every error transient, batches whole, nothing measured."""

    def failure(self, exc: BaseException) -> tuple[str, bool, bool] | None:
        return None

    def in_parts(self, run: Callable[[list[T]], list[R]], items: list[T]) -> list[R]:
        return run(items)

    @contextmanager
    def metered(self) -> Iterator[Meter]:
        yield _NoMeter()

    def stop(self) -> None:
        return None


PLAIN: Policy = _Plain()


class Kind:
    """One kind of work. Subclass it, name it, say its queue, implement ``run`` (or
    ``run_batch``) and ``apply``, and decorate it with :func:`register`."""

    name: ClassVar[str]
    queue: ClassVar[str]  # one of tasks.queues.QUEUES
    policy: ClassVar[Policy] = PLAIN
    # Its ``type`` in the "StoryToVideo standard" contract's task answers, where that has a word
    # of its own for it; else the name.
    standard_type: ClassVar[str] = ""

    def timeout_s(self) -> int:
        """How long one attempt may run before it is stopped."""
        return int(settings.TASK_TIMEOUT_S)

    def batch_size(self) -> int:
        """How many pending tasks of the kind (of one project) one engine call takes at most."""
        return 1

    def run(self, task: Task, progress: Progress) -> Any:
        """The work itself: slow, outside any transaction. Raise SupersededError where the task
        is for an outdated version of what it makes."""
        raise NotImplementedError

    def run_batch(self, tasks: list[Task], progress: Progress) -> list[Any]:
        """Several tasks in one engine call: an output per task, None where it was superseded,
        an exception where it failed alone."""
        return [self.run(task, progress) for task in tasks]

    def apply(self, task: Task, output: Any) -> str:
        """Attach the output and finish the task (``tasks.services.task_finish``), inside the
        transaction that commits both; raise SupersededError to discard it. Returns a word for
        the logs."""
        raise NotImplementedError

    def warm_up(self) -> str | None:
        """Load what this kind's first task would otherwise wait for (a worker's start); says what
        happened. None: nothing to load."""
        return None

    def cannot_run(self) -> str | None:
        """Why this process cannot do this kind's work as configured (its model neither on disk
        nor downloadable), or None. Each worker says it with its presence (``tasks.queues``), so
        that a request for work no live worker can do is refused before anything is made."""
        return None

    def configuration(self) -> str:
        """What this process's work of the kind runs with (its model), said beside
        ``cannot_run``'s answer: a worker's word holds for a request with the same configuration."""
        return ""

    def tidy(self) -> int:
        """Release what this kind made that is no longer wanted (run with each reconcile, by
        every worker); how many things went."""
        return 0


KINDS: dict[str, Kind] = {}
_SETTLED: list[Callable[[uuid.UUID], None]] = []
_STARTED: list[Callable[[uuid.UUID], None]] = []

K = TypeVar("K", bound=type[Kind])


def register(kind_class: K) -> K:
    """Register a kind (a class decorator); its name may be registered once."""
    kind = kind_class()
    if kind.name in KINDS:
        raise ValueError(f"The {kind.name!r} task kind is registered twice ({KINDS[kind.name]!r} and {kind!r}).")
    KINDS[kind.name] = kind
    return kind_class


def replace(kind: Kind) -> Kind:
    """Put ``kind`` in place of the registered kind of its name (tests and benchmarks put a
    fault-injecting or no-op kind over a real one); the old one, returned, must exist."""
    old = kind_for(kind.name)
    KINDS[kind.name] = kind
    return old


def kind_for(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"No task kind {name!r} is registered; is its app installed?") from None


def kinds(*, queue: str | None = None) -> list[Kind]:
    """The registered kinds (of one queue), by name."""
    return sorted((kind for kind in KINDS.values() if queue is None or kind.queue == queue), key=lambda k: k.name)


def on_tasks_settled(callback: Callable[[uuid.UUID], None]) -> None:
    """Call ``callback(project_id)`` after a job has finished, failed or discarded its tasks."""
    if callback not in _SETTLED:
        _SETTLED.append(callback)


def on_tasks_started(callback: Callable[[uuid.UUID], None]) -> None:
    """Call ``callback(project_id)`` when a job has claimed tasks of the project (they run now)."""
    if callback not in _STARTED:
        _STARTED.append(callback)


def tasks_started(project_id: uuid.UUID | None) -> None:
    if project_id is None:  # work outside any film: no project follows it
        return
    for callback in _STARTED:
        callback(project_id)


def tasks_settled(project_id: uuid.UUID | None) -> None:
    if project_id is None:  # work outside any film: no project follows it
        return
    for callback in _SETTLED:
        callback(project_id)
