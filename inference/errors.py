class EngineError(Exception):
    """The one error type of the engines. ``permanent`` says whether retrying can help:
    bad input or a missing model is permanent; a busy device or a flaky server is not."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class DiskFullError(EngineError):
    """No space left to write the output: not the task's fault, and over once space is freed."""

    def __init__(self) -> None:
        super().__init__("The disk is full (no space left to write the output): free some space", permanent=False)


class CancelledError(Exception):
    """Raised from a progress callback when the task was cancelled or superseded."""


class WeightsMissingError(EngineError):
    """A real back end's weights are neither on this machine nor downloadable. The default
    preset answers it by running the stage's draft back end and saying so."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


OUT_OF_MEMORY = (
    "Out of memory even with one shot at a time. Lower the project's resolution, set"
    " INFERENCE_LOW_MEMORY=1 (attention slicing and VAE tiling), or stop other programs using the GPU."
)


def is_out_of_memory(exc: BaseException) -> bool:
    """torch's OutOfMemoryError (CUDA), the RuntimeError other devices raise, or host memory."""
    return (
        isinstance(exc, MemoryError)
        or type(exc).__name__ == "OutOfMemoryError"
        or (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())
    )
