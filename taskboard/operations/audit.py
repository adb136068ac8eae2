"""The audit log: every operator verb calls ``record`` inside the transaction that applies it,
so an action and its audit event commit together or not at all, and a refused action (no
permission, bad input, a conflict, an unknown run or name) leaves none.

*Who* is the verb's ``user``. ``None`` is a trusted local caller: through a management command
(via ``cli``) that is the operating-system account that ran it, anywhere else (the clock,
code) "system". *Through what* (ui, api, cli, admin) is not a parameter of every verb: the
entry point says it once with ``acting_via(...)`` — ``web.middleware.AuditViaMiddleware`` for
the dashboard, API and admin, ``management.commands._cli.OperatorCommand`` for commands — and
``record`` reads it from a context variable (so it also follows a request into the thread
that ASGI runs a sync view in).

Verb names are ``<noun>.<verb>`` (``VERBS`` lists the ones defined here; other packages add
theirs, e.g. ``schedule.pause``). One event per action: a bulk verb writes one event naming
its targets (the first ``TARGETS_MAX``; ``count`` is the true number) or the ``filter`` that
chose them, and links every run it touched through ``AuditRun`` (a run's timeline and
``/api/audit/?run=`` find it by index). A bulk verb that applied to nothing (every target
skipped) writes no event: nothing happened.
"""

from __future__ import annotations

import getpass
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any

import structlog
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.utils import timezone

from taskboard.models import AuditEvent, AuditRun, Via
from taskboard.models import sql as rowsql
from taskboard.models.audit import event_statements, prepared_value
from taskboard.models.sql import Statement
from taskboard.operations.permissions import Actor, actor_name

logger = structlog.get_logger("taskboard.operations")

# At most this many targets are stored in the event itself; ``count`` keeps the true number
# and ``AuditRun`` rows still link every run.
TARGETS_MAX = 100
REASON_MAX = 500
ACTOR_MAX = 150

# The verbs of this package (the audit page offers them in its verb filter).
VERBS = (
    "run.enqueue", "run.cancel", "run.replay", "run.retry_now", "run.run_now", "run.prune",
    "dead_letter.replay", "dead_letter.discard",
    "queue.pause", "queue.resume", "task.pause", "task.resume",
    "breaker.open", "breaker.close",
    "token.create", "token.revoke",
    "batch.cancel", "batch.replay_failed",
    "alert.silence", "alert_rule.save", "alert_rule.delete", "webhook.add", "webhook.remove",
)

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


def actor_of(user: Actor) -> str:
    """Who the event names: the user, or for a trusted caller the OS account of a command."""
    if user is None and current_via() == Via.CLI:
        try:
            return getpass.getuser()[:ACTOR_MAX] or "system"
        except (OSError, KeyError):  # no login name in this environment (a container without one)
            return "system"
    return actor_name(user)[:ACTOR_MAX]


def _plain(value: Any) -> Any:
    """A filter value as JSON can store it (form values may be datetimes)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def record(
    verb: str,
    *,
    user: Actor,
    targets: Iterable[object] = (),
    runs: Iterable[uuid.UUID | str | None] = (),
    filter: Mapping[str, Any] | None = None,
    count: int | None = None,
    reason: str = "",
) -> AuditEvent:
    """Write one audit event for ``verb``. Call it inside the verb's transaction.

    ``targets`` names what the action was applied to (run ids, a queue or breaker name …);
    ``runs`` the runs it touched (indexed for a run's timeline; default: none; None entries
    are skipped); ``filter``
    the selection of a bulk action chosen by filter; ``count`` how many it affected (default:
    the number of targets)."""
    if not transaction.get_connection().in_atomic_block:
        # The event would commit on its own, not with the action: a verb's bug, made visible.
        logger.warning("audit event recorded outside a transaction", verb=verb)
    names = [str(target) for target in targets]
    run_ids = list(dict.fromkeys(str(run) for run in runs if run is not None))
    event = AuditEvent(
        actor=actor_of(user),
        via=current_via(),
        verb=verb[:64],
        targets=names[:TARGETS_MAX],
        filter={str(k): _plain(v) for k, v in filter.items()} if filter is not None else None,
        count=count if count is not None else len(names),
        reason=reason.strip()[:REASON_MAX],
    )
    event.insert_with_runs(run_ids)
    return event


def run_statements(verb: str, *, user: Actor, run_id: uuid.UUID, at: Any = None) -> list[Statement] | None:
    """``record(verb, user=user, targets=[run_id], runs=[run_id])`` as statements, to be run
    with the action's own as one transaction (``backend.together.run_together``), so the
    event commits with the action; built without a model instance. None on a
    database without them (call ``record`` instead). ``at``: the action's time as adapted for
    the database (default: now)."""
    conn = connections[DEFAULT_DB_ALIAS]
    at_field, targets = _event_fields()
    values = [
        at_field.get_db_prep_save(timezone.now(), conn) if at is None else at,
        _scalar(conn, "actor", actor_of(user)),
        _scalar(conn, "via", current_via()),
        _scalar(conn, "verb", verb[:64]),
        targets.get_db_prep_save([str(run_id)], conn),
        None,  # filter
        1,  # count
        "",  # reason
    ]
    return event_statements(values, _scalar(conn, "run_id", run_id, AuditRun))


_fields: tuple[models.Field[Any, Any], models.Field[Any, Any]] | None = None


def _event_fields() -> tuple[models.Field[Any, Any], models.Field[Any, Any]]:
    """The fields of the two values prepared per event (``at``, ``targets``); checks once that
    ``run_statements`` lists the columns in the order the INSERT names them."""
    global _fields
    if _fields is None:
        names = [f.attname for f in rowsql.insert_fields(AuditEvent)]
        if names != ["at", "actor", "via", "verb", "targets", "filter", "count", "reason"]:
            raise RuntimeError(f"AuditEvent's columns changed ({names}): update run_statements")
        meta = AuditEvent._meta
        _fields = (meta.get_field("at"), meta.get_field("targets"))
    assert _fields is not None
    return _fields


def _scalar(conn: BaseDatabaseWrapper, name: str, value: Any, model: type[models.Model] = AuditEvent) -> Any:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return prepared_value(conn, field, value)


def add_to_count(event: AuditEvent, more: int) -> None:
    """Grow the count of an action that commits in steps (``prune`` deletes in batches, each
    batch in its own transaction): call it in each later step's transaction, so the event
    always counts exactly what was committed."""
    AuditEvent.objects.filter(pk=event.pk).update(count=F("count") + more)
    event.count += more
