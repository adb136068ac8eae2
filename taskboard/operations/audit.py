"""The audit log: every operator verb calls ``record`` inside the transaction that applies it,
so an action and its audit event commit together or not at all, and a refused action (no
permission, bad input, a conflict) leaves none.

*Who* is the verb's ``user`` (``None``, a trusted local caller, is recorded as "system").
*Through what* (ui, api, cli, admin) is not a parameter of every verb: the entry point says it
once with ``acting_via(...)`` — the request middleware for the dashboard, API and admin, the
command base for management commands — and ``record`` reads it from a context variable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from taskboard.models import AuditEvent, AuditRun, Via
from taskboard.operations.permissions import Actor, actor_name

# At most this many targets are stored in the event itself; ``count`` keeps the true number
# and ``AuditRun`` rows still link every run.
TARGETS_MAX = 100
REASON_MAX = 500

_via: ContextVar[Via] = ContextVar("taskboard_audit_via", default=Via.SYSTEM)


@contextmanager
def acting_via(via: Via | str) -> Iterator[None]:
    """Record the operator verbs run inside this block as coming through ``via``."""
    token = _via.set(Via(via))
    try:
        yield
    finally:
        _via.reset(token)


def current_via() -> Via:
    return _via.get()


def record(
    verb: str,
    *,
    user: Actor,
    targets: Iterable[object] = (),
    runs: Iterable[uuid.UUID | str] = (),
    filter: Mapping[str, Any] | None = None,
    count: int | None = None,
    reason: str = "",
) -> AuditEvent:
    """Write one audit event for ``verb``. Call it inside the verb's transaction.

    ``targets`` names what the action was applied to (run ids, a queue or breaker name …);
    ``runs`` the runs it touched (indexed for a run's timeline; default: none); ``filter``
    the selection of a bulk action chosen by filter; ``count`` how many it affected (default:
    the number of targets)."""
    names = [str(target) for target in targets]
    run_ids = list(dict.fromkeys(str(run) for run in runs))
    event = AuditEvent.objects.create(
        actor=actor_name(user)[:150],
        via=current_via(),
        verb=verb,
        targets=names[:TARGETS_MAX],
        filter=dict(filter) if filter is not None else None,
        count=count if count is not None else len(names),
        reason=reason[:REASON_MAX],
    )
    if run_ids:
        AuditRun.objects.bulk_create(AuditRun(event=event, run_id=run_id) for run_id in run_ids)
    return event
