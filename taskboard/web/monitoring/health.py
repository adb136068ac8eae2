"""The per-check detail of ``/healthz``: how each queue's oldest ready run compares with its
wait SLO, how many circuit breakers are not closed, how many alerts fire.

Only figures and configured names (queues): no task arguments, error messages, alert
summaries or breaker names, since ``/healthz`` answers without authentication. The figures
are the read models' (``queue_stats``: the one definition of oldest wait) and the alert
rules' SLOs (``notify.overrides.queue_slos``); they never change the status code, which stays
about the database and the workers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from django.db import DatabaseError

from taskboard.models import Breaker, BreakerState
from taskboard.notify.overrides import queue_slos
from taskboard.readmodels import alerts, queues

logger = structlog.get_logger("taskboard.monitoring")


def _status(ok: bool) -> str:
    return "ok" if ok else "degraded"


def detail(now: datetime) -> dict[str, Any]:
    stats = queues.queue_stats(now)
    slos = queue_slos(stats)
    per_queue = {}
    for name, figures in sorted(stats.items()):
        slo = slos[name]
        wait = round(figures.oldest_wait_seconds, 1)
        per_queue[name] = {"oldest_wait_seconds": wait, "slo_seconds": slo, "ok": slo is None or wait <= slo}
    breakers = dict.fromkeys((BreakerState.OPEN.value, BreakerState.HALF_OPEN.value), 0)
    for state in Breaker.objects.exclude(state=BreakerState.CLOSED).values_list("state", flat=True):
        breakers[state] = breakers.get(state, 0) + 1
    firing = alerts.firing_count()
    return {
        "queues": {"status": _status(all(q["ok"] for q in per_queue.values())), "queues": per_queue},
        "breakers": {"status": _status(not any(breakers.values())), **breakers},
        "alerts": {"status": _status(not firing), "firing": firing},
    }


def detail_or_nothing(now: datetime) -> dict[str, Any]:
    """``detail``, or none when it cannot be computed for another reason than the database
    (which the health check reports itself): the detail never decides the status code."""
    try:
        return detail(now)
    except DatabaseError:
        raise
    except Exception:
        logger.exception("health check: detail unavailable")
        return {}
