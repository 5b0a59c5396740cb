class EngineError(Exception):
    """The one error type of the engines. ``permanent`` says whether retrying can help:
    bad input or a missing model is permanent; a busy device or a flaky server is not."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class CancelledError(Exception):
    """Raised from a progress callback when the task was cancelled or superseded."""


class WeightsMissingError(EngineError):
    """A real back end's weights are neither on this machine nor downloadable. The default
    preset answers it by running the stage's draft back end and saying so."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)
