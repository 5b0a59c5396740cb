"""Prometheus metrics at ``/metrics``, for staff or a bearer token (METRICS_TOKEN).

Task figures are read from the database at scrape time (by kind, back end and status; run
seconds and counts of finished tasks), queue depths and live workers from Redis, and request
counts and durations from a Redis hash every web process adds to (``core.metrics``): so one
scrape of any web process sees the whole installation, however many processes and machines
serve it."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from core.metrics import REQUESTS_KEY
from core.redis import get_redis
from tasks.models import Task
from tasks.queues import QUEUES, get_queue, live_workers


class Collector:
    def collect(self) -> Iterator[Metric]:
        tasks = GaugeMetricFamily(
            "storyvideo_tasks", "Tasks by kind, back end and status.", labels=["kind", "backend", "status"]
        )
        for row in Task.objects.values("kind", "backend", "status").annotate(n=Count("id")).order_by():
            tasks.add_metric([row["kind"], row["backend"] or "-", row["status"]], row["n"])
        yield tasks

        run = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        finished = CounterMetricFamily(
            "storyvideo_tasks_finished", "Finished tasks by kind and back end.", labels=["kind", "backend"]
        )
        seconds = CounterMetricFamily(
            "storyvideo_engine_seconds",
            "Seconds finished tasks ran (their last attempt), by kind and back end.",
            labels=["kind", "backend"],
        )
        rows = (
            Task.objects.filter(status=Task.Status.FINISHED, started_at__isnull=False, finished_at__isnull=False)
            .values("kind", "backend")
            .annotate(n=Count("id"), run=Sum(run))
            .order_by()
        )
        for row in rows:
            labels = [row["kind"], row["backend"] or "-"]
            finished.add_metric(labels, row["n"])
            seconds.add_metric(labels, row["run"].total_seconds() if row["run"] else 0.0)
        yield finished
        yield seconds

        depth = GaugeMetricFamily("storyvideo_queue_depth", "Jobs waiting on each queue.", labels=["queue"])
        workers = GaugeMetricFamily("storyvideo_workers", "Live workers on each queue.", labels=["queue"])
        requests = CounterMetricFamily("storyvideo_http_requests", "HTTP requests.", labels=["method", "status"])
        durations = CounterMetricFamily(
            "storyvideo_http_request_seconds", "Seconds spent answering HTTP requests.", labels=["method", "status"]
        )
        try:
            alive = live_workers()
            for name in QUEUES:
                depth.add_metric([name], get_queue(name).count)
                workers.add_metric([name], len(alive[name]))
            counted: Any = get_redis().hgetall(REQUESTS_KEY)
            for key, value in counted.items():
                kind, method, status = key.decode().split(":")
                (requests if kind == "count" else durations).add_metric([method, status], float(value))
        except Exception:  # Redis away: the database's figures still come  # noqa: S110
            pass
        yield from (depth, workers, requests, durations)


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(Collector())


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    allowed = (request.user.is_authenticated and request.user.is_staff) or (
        bool(token) and hmac.compare_digest(supplied.encode(), token.encode())
    )
    if not allowed:
        return HttpResponse("Metrics are for staff, or a request bearing METRICS_TOKEN.", status=403)
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
