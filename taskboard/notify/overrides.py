"""The effective alert rule settings: ``TASKBOARD_ALERTS`` plus the admin's ``AlertRule``
overrides, read in one query. ``queue_slos`` is what ``/healthz`` compares each queue's oldest
wait with (the ``queue_wait`` rule's threshold for that queue)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog
from django.core.exceptions import ImproperlyConfigured

from taskboard.models import AlertRule
from taskboard.notify.config import alerts_config, check_rule_values

logger = structlog.get_logger("taskboard.notify")


def overrides(rows: Iterable[AlertRule] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """The admin's ``AlertRule`` rows (a handful; ``rows`` if read already), validated like the
    settings; a row that does not validate (written around the admin) is skipped with a
    warning, not obeyed."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for row in AlertRule.objects.all() if rows is None else rows:
        try:
            found[(row.rule, row.scope)] = check_rule_values(row.rule, row.values(), f"alert rule {row}",
                                                             scoped=bool(row.scope))
        except ImproperlyConfigured as exc:
            logger.warning("alert rule override ignored", rule=str(row), error=str(exc))
    return found


def queue_slos(queues: Iterable[str]) -> dict[str, float | None]:
    """Each queue's wait SLO in seconds (None where the queue_wait rule is off for it)."""
    config, layered = alerts_config(), overrides()
    slos: dict[str, float | None] = {}
    for queue in queues:
        settings = config.rule("queue_wait", queue, layered)
        slos[queue] = settings.threshold if settings.enabled else None
    return slos
