"""Flow control as people see it: queues with their pauses, paused tasks, breakers with their
history, limit utilisation and why held runs wait. The figures are ``taskboard.flow.status``'s
(one definition for dashboard, API, ``/metrics`` and the CLI); this module shapes them for the
screens and keeps every query bounded (a page of runs explains its held rows in one query).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count

from taskboard.flow import status as flow_status
from taskboard.flow.status import BreakerRow, QueueRow, Utilisation
from taskboard.models import BreakerTransition, HoldReason, Pause, PauseScope, Status, TaskRun
from taskboard.readmodels.representations import hold_json, iso

# Transitions shown per breaker on the Flow page.
HISTORY = 10
# Reasons a run can be held for, in the order screens list them.
HOLD_REASONS = (HoldReason.CONCURRENCY, HoldReason.RATE, HoldReason.BREAKER, HoldReason.PAUSED)

__all__ = ["BreakerRow", "QueueRow", "Utilisation", "breaker_json", "breaker_rows", "held_by_reason",
           "hold_json", "hold_sentence", "hold_sentences", "queue_json", "queue_rows", "utilisation"]

queue_rows = flow_status.queue_rows
breaker_rows = flow_status.breaker_rows
utilisation = flow_status.limit_utilisation
hold_sentence = flow_status.hold_sentence


def queue_json(row: QueueRow) -> dict[str, Any]:
    return dict(row)


def breaker_json(row: BreakerRow) -> dict[str, Any]:
    return {**row, "opened_at": iso(row["opened_at"]), "retry_at": iso(row["retry_at"])}


def paused(scope: PauseScope) -> dict[str, Pause]:
    """The paused queues or tasks (a small table: one row per pause)."""
    return {p.name: p for p in Pause.objects.filter(scope=scope)}


@dataclass
class BreakerView:
    row: BreakerRow
    history: list[BreakerTransition] = field(default_factory=list)


def breaker_views(now: datetime | None = None) -> list[BreakerView]:
    """Every configured breaker with its latest transitions (one query for all histories)."""
    rows = breaker_rows(now)
    views = {row["name"]: BreakerView(row) for row in rows}
    if views:
        # The newest HISTORY per breaker; the configured breakers are few.
        recent = BreakerTransition.objects.filter(breaker__in=list(views)).order_by("-at", "-id")[:HISTORY * len(views)]
        for transition in recent:
            history = views[transition.breaker].history
            if len(history) < HISTORY:
                history.append(transition)
    return list(views.values())


def held_by_reason() -> dict[str, int]:
    """Held runs by reason (the ``run_held`` partial index), every reason present."""
    counts = dict(TaskRun.objects.filter(status=Status.HELD).order_by().values_list("hold_reason")
                  .annotate(n=Count("pk")).values_list("hold_reason", "n"))
    return {reason.value: counts.get(reason.value, 0) for reason in HOLD_REASONS}


def hold_sentences(runs: Iterable[TaskRun]) -> dict[Any, str]:
    """Why each held run of a page waits, in words, in at most one query (running runs per
    concurrency key); a rate hold is told without its window count."""
    held = [run for run in runs if run.status == Status.HELD]
    keys = {run.hold_key for run in held if run.hold_reason == HoldReason.CONCURRENCY and run.concurrency_limit}
    running: dict[str, int] = {}
    if keys:
        running = dict(TaskRun.objects.filter(status=Status.RUNNING, concurrency_key__in=keys).order_by()
                       .values_list("concurrency_key").annotate(n=Count("pk")).values_list("concurrency_key", "n"))
    sentences: dict[Any, str] = {}
    for run in held:
        key = run.hold_key
        if run.hold_reason == HoldReason.CONCURRENCY and key in keys:
            sentences[run.pk] = f"held: {key} has {running.get(key, 0)} of {run.concurrency_limit} running"
        elif run.hold_reason == HoldReason.PAUSED:
            scope, _, name = key.partition(":")
            sentences[run.pk] = f"held: {scope} {name} is paused"
        elif run.hold_reason == HoldReason.BREAKER:
            sentences[run.pk] = f"held: circuit breaker {key} is open"
        elif run.hold_reason == HoldReason.RATE:
            sentences[run.pk] = f"held: rate limit {run.rate_limit} on {key}".replace("  ", " ")
        else:
            sentences[run.pk] = f"held: {run.hold_reason} {key}".strip()
    return sentences
