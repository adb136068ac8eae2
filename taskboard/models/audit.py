"""``AuditEvent``: one row per operator action, written in the same transaction as the action
(see ``taskboard.operations.audit``). Never edited (only ``count`` of an action that commits in
batches, ``prune``, grows with each batch); pruned only by age."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from taskboard.models import sql as rowsql


class Via(models.TextChoices):
    UI = "ui", "dashboard"
    API = "api", "API"
    CLI = "cli", "command"
    ADMIN = "admin", "admin"
    SYSTEM = "system", "system"


class AuditEvent(models.Model):
    at = models.DateTimeField(default=timezone.now)
    actor = models.CharField(max_length=150)
    via = models.CharField(max_length=8, choices=Via.choices)
    verb = models.CharField(max_length=64)
    # What the action named: run ids, a queue, a breaker, a schedule… (capped; ``count`` is
    # the true number) — or, for a bulk action chosen by filter, the filter itself.
    targets = models.JSONField(default=list, blank=True)
    filter = models.JSONField(null=True, blank=True)
    count = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_list"),
            models.Index(fields=["actor", "-at"], name="audit_actor"),
            models.Index(fields=["verb", "-at"], name="audit_verb"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} ({self.via}) {self.verb} ×{self.count}"

    def insert_with_runs(self, run_ids: Sequence[str]) -> None:
        """INSERT this new event and an ``AuditRun`` per run id, with memoised statements.

        Every operator action writes one (an API enqueue: one per request), and ``create``
        plus ``bulk_create`` compiled their SQL anew each time. On PostgreSQL an event that
        touched one run is a single statement (a data-modifying CTE), so one round trip."""
        conn = connections[DEFAULT_DB_ALIAS]
        vendor = conn.vendor
        fields = rowsql.insert_fields(AuditEvent)
        values = [prepared_value(conn, f, f.pre_save(self, add=True)) for f in fields]
        linked = vendor == "postgresql" and len(run_ids) == 1
        if linked:
            values.append(_run_id(conn, run_ids[0]))
        with conn.cursor() as cursor:
            cursor.execute(rowsql.text(("audit-event", linked, len(fields)), lambda: _event_sql(conn, linked)), values)
            self.pk = cursor.fetchone()[0]
        self._state.adding = False
        self._state.db = conn.alias
        if linked or not run_ids:
            return
        if len(run_ids) == 1:
            with conn.cursor() as cursor:
                cursor.execute(rowsql.text(("audit-run", 1), lambda: _link_sql(conn) + " VALUES (%s, %s)"),
                               [self.pk, _run_id(conn, run_ids[0])])
        else:
            AuditRun.objects.bulk_create([AuditRun(event=self, run_id=run_id) for run_id in run_ids],
                                         batch_size=1000)


def event_statements(values: Sequence[Any], run_id: Any) -> list[tuple[str, list[Any]]] | None:
    """The statements of a new event linked to one run, run beside the action's own as one
    transaction (``models.sql.run``, ``backend.together``): ``values`` are its prepared
    columns in ``sql.insert_fields`` order, ``run_id`` the prepared run id. PostgreSQL: one
    CTE; SQLite: the event, then its link to ``last_insert_rowid()`` (this connection's last
    INSERT: the event's, just before). None on other databases."""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor == "postgresql":
        return [(rowsql.text(("audit-event", True, len(values)), lambda: _event_sql(conn, True)), [*values, run_id])]
    if conn.vendor != "sqlite":
        return None
    event = rowsql.text(("audit-event-plain", len(values)), lambda: _event_sql(conn, False).rsplit(" RETURNING ", 1)[0])
    link = rowsql.text(("audit-run-last",), lambda: f"{_link_sql(conn)} SELECT last_insert_rowid(), %s")
    return [(event, list(values)), (link, [run_id])]


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field) and field.column is not None
    return field.column


def _link_sql(conn: BaseDatabaseWrapper) -> str:
    q = conn.ops.quote_name
    return (f"INSERT INTO {q(AuditRun._meta.db_table)} "
            f"({q(_column(AuditRun, 'event'))}, {q(_column(AuditRun, 'run_id'))})")


def _event_sql(conn: BaseDatabaseWrapper, linked: bool) -> str:
    """The event's INSERT … RETURNING id; ``linked``: inside a CTE that also links one run."""
    q = conn.ops.quote_name
    fields = rowsql.insert_fields(AuditEvent)
    columns = ", ".join(q(_column(AuditEvent, f.name)) for f in fields)
    insert = (f"INSERT INTO {q(AuditEvent._meta.db_table)} ({columns}) "
              f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {q('id')}")
    if not linked:
        return insert
    event_id = q(_column(AuditRun, "event"))
    return f"WITH e AS ({insert}) {_link_sql(conn)} SELECT {q('id')}, %s FROM e RETURNING {event_id}"


def _run_id(conn: BaseDatabaseWrapper, value: str) -> Any:
    field = AuditRun._meta.get_field("run_id")
    assert isinstance(field, models.Field)
    return field.get_db_prep_save(value, conn)


# Prepared values of the few scalars events repeat (verbs, vias, actors, "" and None): preparing
# each through its field cost more than the INSERT's own Python work.
_scalars: dict[tuple[str, str, type, Any], Any] = {}
SCALARS_MAX = 1000


def prepared_value(conn: BaseDatabaseWrapper, field: models.Field[Any, Any], value: Any) -> Any:
    """``value`` prepared for ``field``; the few strings and numbers events repeat (actors,
    vias, verbs) are prepared once."""
    if not isinstance(value, str | int | type(None)) or isinstance(value, bool):
        return field.get_db_prep_save(value, conn)
    key = (conn.vendor, field.attname, type(value), value)
    prepared = _scalars.get(key, _MISSING)
    if prepared is _MISSING:
        if len(_scalars) >= SCALARS_MAX:
            _scalars.clear()
        prepared = _scalars[key] = field.get_db_prep_save(value, conn)
    return prepared


_MISSING = object()


class AuditRun(models.Model):
    """Which runs an event touched, so a run's timeline and ``/api/audit/?run=`` find it by
    index (``targets`` is JSON and capped)."""

    event = models.ForeignKey(AuditEvent, on_delete=models.CASCADE, related_name="runs")
    run_id = models.UUIDField()

    class Meta:
        indexes = [models.Index(fields=["run_id"], name="audit_run")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.run_id}"
