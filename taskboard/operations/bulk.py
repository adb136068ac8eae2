"""Verbs over many runs: one shared loop that applies a verb and collects what it skipped, and
the one audit event that a bulk verb writes for everything it did."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.tasks.exceptions import InvalidTask

from taskboard.exceptions import OperationError
from taskboard.models import TaskRun
from taskboard.operations import audit
from taskboard.operations.permissions import Actor

# Bulk verbs act on at most this many rows per call; callers page through larger sets.
BULK_LIMIT = 10_000

type RunVerb = Callable[..., TaskRun]


@dataclass
class BulkResult:
    done: list[TaskRun] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (run id, reason)


def each(verb: RunVerb, run_ids: Iterable[uuid.UUID | str], user: Actor) -> BulkResult:
    """Apply a verb to each run; a run it cannot apply to is skipped with the reason."""
    outcome = BulkResult()
    for run_id in run_ids:
        try:
            outcome.done.append(verb(run_id, user=user))
        except (OperationError, InvalidTask, TaskRun.DoesNotExist) as exc:  # e.g. a changed signature
            outcome.skipped.append((str(run_id), str(exc)))
    return outcome


def record_bulk(verb: str, outcome: BulkResult, *, user: Actor, reason: str = "",
                filter: Mapping[str, Any] | None = None, source: Callable[[TaskRun], Any] | None = None) -> None:
    """The one audit event of a bulk verb, in its transaction: the runs it applied to (or, for
    a verb that makes new runs such as a replay, the runs they came from: ``source``), and all
    the runs it touched linked. Nothing done, no event."""
    if not outcome.done:
        return
    targets = [source(run) if source else run.pk for run in outcome.done]
    touched = [*targets, *(run.pk for run in outcome.done)] if source else targets
    audit.record(verb, user=user, targets=targets, runs=touched, filter=filter, count=len(outcome.done),
                 reason=reason)
