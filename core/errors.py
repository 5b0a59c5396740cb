"""The one error type of the application's services."""

from __future__ import annotations


class ApplicationError(Exception):
    """A request the application cannot carry out, said so that a person knows what to do.

    Services raise it, never an HTTP exception; the API's exception handler answers it with the
    status its ``code`` stands for (``core.api``), naming ``field`` where one input is at
    fault (by its name in the API).
    """

    CODES = ("invalid", "not_found", "conflict", "too_large")

    def __init__(self, message: str, *, code: str = "invalid", field: str = "") -> None:
        if code not in self.CODES:
            raise ValueError(f"{code!r} is not one of {self.CODES}")
        super().__init__(message)
        self.message, self.code, self.field = message, code, field
