"""Logs as JSON lines with the trace id (LOG_FORMAT=json), and Sentry when SENTRY_DSN is set."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from core.tracing import current_trace_id


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, trace id, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", current_trace_id()),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _with_trace(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    event.setdefault("tags", {})["trace_id"] = current_trace_id()
    return event


def init_sentry(dsn: str, *, environment: str) -> None:
    """Errors of the web process and the workers (Django's and RQ's integrations), tagged with the
    trace id that leads to the request and tasks involved. No personal data is sent."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), RqIntegration()],
        send_default_pii=False,
        traces_sample_rate=0.0,
        before_send=_with_trace,  # type: ignore[arg-type]
    )
