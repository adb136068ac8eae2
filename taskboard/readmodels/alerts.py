"""Alerts as people see them: the alert JSON (``GET /api/alerts/``, ``taskboard_alerts``, the
webhook payload's ``data``), the Alerts page's lists and the firing count of the nav badge.

A link is the dashboard path of what the alert is about (failure group, task, queue's runs,
flow page), made absolute with ``TASKBOARD_BASE_URL`` so it works from an e-mail or a chat.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, QuerySet
from django.utils import timezone

from taskboard.models import Alert, AlertState
from taskboard.readmodels.representations import iso

# Firing alerts listed on the Alerts page before the resolved ones (more: the API, paged).
FIRING_SHOWN = 200
# What an alert's ``count`` counts, per rule (for sentences: "50 dead letters").
UNITS = {"dead_letter": "open dead letters", "failure_rate": "failed runs", "queue_wait": "queued runs",
         "no_workers": "queued runs", "breaker_open": "held runs", "stuck": "stuck runs",
         "schedule_missed": "missed fire times"}


def absolute(path: str) -> str:
    """``path`` under ``TASKBOARD_BASE_URL`` (as is when that is unset or ``path`` is absolute)."""
    if not path or "://" in path:
        return path
    return (getattr(settings, "TASKBOARD_BASE_URL", "") or "").rstrip("/") + path


def alert_json(alert: Alert) -> dict[str, Any]:
    """CONTRACT's alert: ``{"id", "rule", "state", "key", "summary", "count", "started_at",
    "resolved_at", "silenced_until", "link"}``."""
    return {
        "id": alert.pk,
        "rule": alert.rule,
        "state": alert.state,
        "key": alert.key,
        "summary": alert.summary,
        "count": alert.count,
        "started_at": iso(alert.started_at),
        "resolved_at": iso(alert.resolved_at),
        "silenced_until": iso(alert.silenced_until),
        "link": absolute(alert.link),
    }


def unit_of(alert: Alert) -> str:
    return UNITS.get(alert.rule, "")


def alerts(state: str | None = None) -> QuerySet[Alert]:
    """Alerts newest first (index ``alert_state_list`` / ``alert_list``), of one state or all."""
    qs = Alert.objects.all()
    return qs.filter(state=state) if state else qs


def firing(limit: int = FIRING_SHOWN) -> list[Alert]:
    return list(Alert.objects.firing().order_by("-started_at", "-id")[:limit])


def firing_count() -> int:
    """Firing alerts (few: one per broken group), for the nav badge and ``/healthz``."""
    return Alert.objects.firing().count()


def firing_by_rule() -> dict[str, int]:
    return dict(Alert.objects.firing().order_by().values_list("rule").annotate(n=Count("pk"))
                .values_list("rule", "n"))


def silenced_count(now: datetime | None = None) -> int:
    return Alert.objects.firing().silenced(now or timezone.now()).count()


def state_choices() -> list[str]:
    return [state.value for state in AlertState]
