"""What work used, summed: per project, per user over a window of time, per kind of task, with
its cost where the installation sets prices (USAGE_PRICES). Each task records its own
(``Task.usage``: what its kind's policy measured, with wall and GPU seconds)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from inference.usage import AMOUNTS
from tasks.models import Task

USAGE_AMOUNTS = ("wallSeconds", "deviceSeconds", *AMOUNTS)


def usage_sum(tasks: QuerySet[Task]) -> dict[str, Any]:
    """What the tasks used, summed: the amounts, device seconds by device kind, the tasks
    counted, the same per kind of task, and the cost where USAGE_PRICES gives prices."""
    totals: dict[str, float] = dict.fromkeys(USAGE_AMOUNTS, 0.0)
    by_device: dict[str, float] = {}
    by_kind: dict[str, dict[str, float]] = {}
    count = 0
    for kind, usage in tasks.values_list("kind", "usage"):
        count += 1
        kind_totals = by_kind.setdefault(kind, dict.fromkeys(USAGE_AMOUNTS, 0.0))
        for key in USAGE_AMOUNTS:
            amount = float((usage or {}).get(key, 0) or 0)
            totals[key] += amount
            kind_totals[key] += amount
        device = str((usage or {}).get("device", "") or "")
        if device:
            family = "cuda" if device.startswith("cuda") else device
            by_device[family] = by_device.get(family, 0.0) + float((usage or {}).get("wallSeconds", 0) or 0)
    rounded = {key: round(value, 3) for key, value in totals.items()}
    return {
        "tasks": count,
        **rounded,
        "secondsByDevice": {key: round(value, 3) for key, value in sorted(by_device.items())},
        "byKind": {k: {key: round(v, 3) for key, v in values.items()} for k, values in sorted(by_kind.items())},
        "cost": usage_cost(rounded, by_device),
        "currency": settings.USAGE_CURRENCY,
    }


def usage_cost(totals: dict[str, float], by_device: dict[str, float]) -> float | None:
    """The price of what was used (USAGE_PRICES), or None when no prices are set."""
    prices = settings.USAGE_PRICES
    if not prices:
        return None
    amounts = {
        "cuda_hour": by_device.get("cuda", 0.0) / 3600,
        "cpu_hour": by_device.get("cpu", 0.0) / 3600,
        "tokens_in_million": totals["tokensIn"] / 1e6,
        "tokens_out_million": totals["tokensOut"] / 1e6,
        "image": totals["images"],
        "audio_minute": totals["audioSeconds"] / 60,
        "video_minute": totals["videoSeconds"] / 60,
    }
    return round(sum(amounts[key] * price for key, price in prices.items()), 6)
