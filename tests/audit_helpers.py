"""Watching the audit log in tests: ``recorded()`` collects the events written inside it.

Fixtures and factories write events of their own (``factories.enqueue`` is an operator
enqueue, audited as ``run.enqueue`` by "system"), so tests look only at what the action under
test wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from taskboard.models import AuditEvent


def last_id() -> int:
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


@contextmanager
def recorded() -> Iterator[list[AuditEvent]]:
    """The events written inside the block, oldest first (filled in when the block ends)."""
    since = last_id()
    found: list[AuditEvent] = []
    yield found
    found.extend(AuditEvent.objects.filter(id__gt=since).order_by("id"))


def linked_runs(event: AuditEvent) -> set[str]:
    return {str(run_id) for run_id in event.runs.values_list("run_id", flat=True)}


def summary(event: AuditEvent) -> tuple[str, str, str, list[str], int]:
    """(verb, actor, via, targets, count): what most assertions compare."""
    return event.verb, event.actor, event.via, event.targets, event.count
