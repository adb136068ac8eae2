"""``/healthz`` for load balancers and ``/metrics`` for Prometheus.

``/healthz`` (no authentication, nothing sensitive): 200 ``{"status": "ok", …}`` when the
database answers and at least one ``taskboard_worker`` has a fresh heartbeat (its
dispatcher loop writes it, so that also proves the dispatcher is alive); otherwise 503
``{"status": "unavailable", "reason": …}``. ``checks`` details each check (``health``): the
database, live workers, each queue's oldest wait against its SLO, breakers not closed, firing
alerts — the last three say ``degraded`` but never turn the answer into a 503.

``/metrics`` needs a bearer token or a staff session with ``taskboard.view_taskrun``
unless ``TASKBOARD["METRICS_PUBLIC"]`` (env ``TASKBOARD_METRICS_PUBLIC=1``). Every scrape
builds a fresh registry whose collector reads the database, so any web host reports the
whole cluster. All series are gauges computed at scrape time; the windowed ones cover the
last ``WINDOW`` (5 minutes, exported as ``taskboard_metrics_window_seconds``), so they read
like ``increase(…[5m])`` of a counter and survive restarts of any process:

=============================================  =========================================
``taskboard_runs{task,status}``                open runs now (queued, scheduled, running,
                                               retrying)
``taskboard_runs_finished{task,status}``       runs that finished within the window
``taskboard_attempts{task,outcome}``           attempts that ended within the window;
                                               ``outcome != "succeeded"`` are failures by
                                               error kind
``taskboard_dead_letters_open{task}``          unresolved dead letters
``taskboard_queue_depth{queue}``               queued runs waiting for a worker
``taskboard_queue_oldest_wait_seconds{queue}`` age of the oldest of them
``taskboard_run_duration_seconds{task}``       histogram: first start to finish (retries
                                               included) of runs finished in the window
``taskboard_queue_wait_seconds{task}``         histogram: ready to first start, same runs
``taskboard_workers_alive``                    workers with a fresh heartbeat
``taskboard_alerts_firing{rule}``              alerts firing now (see ``taskboard.notify``)
=============================================  =========================================

The histograms are windowed, not cumulative: use ``histogram_quantile`` on them directly,
without ``rate()``. Every query is bounded by an index and/or the window (see ``taskboard.readmodels``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import structlog
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric

from taskboard.conf import conf
from taskboard.operations import PERM_VIEW
from taskboard.readmodels import alerts, queues, totals, workers
from taskboard.web.auth import authorize
from taskboard.web.errors import JsonError
from taskboard.web.monitoring import flow_metrics, health

logger = structlog.get_logger("taskboard.monitoring")

WINDOW = timedelta(minutes=5)
DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        alive = workers.live_workers().count()
        checks = {"database": {"status": "ok"},
                  "workers": {"status": "ok" if alive else "unavailable", "alive": alive},
                  **health.detail_or_nothing(timezone.now())}
    except DatabaseError as exc:
        logger.warning("health check: database unavailable", error=str(exc))
        return JsonResponse({"status": "unavailable", "reason": "the database is not answering"}, status=503)
    if not alive:
        return JsonResponse({
            "status": "unavailable",
            "reason": f"no worker heartbeat in the last {conf.WORKER_STALE_SECONDS:g} seconds",
            "database": "ok",
            "workers": 0,
            "checks": checks,
        }, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "workers": alive, "checks": checks})


class TaskboardCollector:
    """Reads everything from the database once per scrape."""

    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        since = now - WINDOW

        window = GaugeMetricFamily("taskboard_metrics_window_seconds",
                                   "Length of the window the windowed taskboard series cover.")
        window.add_metric([], WINDOW.total_seconds())
        yield window

        runs = GaugeMetricFamily("taskboard_runs", "Open runs by task and status.", labels=["task", "status"])
        for (task, status), n in sorted(totals.open_run_counts().items()):
            runs.add_metric([task, status], n)
        yield runs

        finished = GaugeMetricFamily("taskboard_runs_finished",
                                     "Runs that finished within the window, by task and final status.",
                                     labels=["task", "status"])
        for (task, status), n in sorted(totals.recent_finished(since).items()):
            finished.add_metric([task, status], n)
        yield finished

        attempts = GaugeMetricFamily("taskboard_attempts",
                                     "Attempts that ended within the window, by task and outcome "
                                     "(anything but succeeded is a failure of that error kind).",
                                     labels=["task", "outcome"])
        for (task, outcome), n in sorted(totals.recent_attempts(since).items()):
            attempts.add_metric([task, outcome], n)
        yield attempts

        letters = GaugeMetricFamily("taskboard_dead_letters_open", "Unresolved dead letters by task.",
                                    labels=["task"])
        for task, n in sorted(totals.dead_letters_open_by_task().items()):
            letters.add_metric([task], n)
        yield letters

        depth = GaugeMetricFamily("taskboard_queue_depth", "Queued runs waiting for a worker.", labels=["queue"])
        oldest = GaugeMetricFamily("taskboard_queue_oldest_wait_seconds",
                                   "Seconds the oldest queued run has been waiting (0 when none).",
                                   labels=["queue"])
        for queue, figures in sorted(queues.queue_stats(now).items()):
            depth.add_metric([queue], figures.depth)
            oldest.add_metric([queue], figures.oldest_wait_seconds)
        yield depth
        yield oldest

        timings = totals.recent_timings(since)
        yield _histogram("taskboard_run_duration_seconds",
                         "First start to finish of runs finished within the window (retries included).",
                         [(t.task, t.run_time) for t in timings])
        yield _histogram("taskboard_queue_wait_seconds",
                         "Ready to first start of runs finished within the window.",
                         [(t.task, t.queue_wait) for t in timings])

        alive = GaugeMetricFamily("taskboard_workers_alive",
                                  "taskboard_worker processes with a fresh heartbeat.")
        alive.add_metric([], workers.live_workers(now).count())
        yield alive

        firing = GaugeMetricFamily("taskboard_alerts_firing", "Alerts firing now, by rule (silenced ones too).",
                                   labels=["rule"])
        for rule, n in sorted(alerts.firing_by_rule().items()):
            firing.add_metric([rule], n)
        yield firing

        yield from flow_metrics.collect()


def _histogram(name: str, documentation: str, samples: list[tuple[str, float]]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=["task"])
    by_task: dict[str, list[float]] = {}
    for task, value in samples:
        by_task.setdefault(task, []).append(value)
    for task, values in sorted(by_task.items()):
        buckets = [(_le(bound), sum(1 for v in values if v <= bound)) for bound in DURATION_BUCKETS]
        buckets.append(("+Inf", len(values)))
        family.add_metric([task], buckets, sum(values))
    return family


def _le(bound: float) -> str:
    return str(float(bound))


def render_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TaskboardCollector())
    return generate_latest(registry)


@require_safe
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not conf.METRICS_PUBLIC:
        try:
            authorize(request, PERM_VIEW)
        except JsonError as exc:
            return exc.response()
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)
