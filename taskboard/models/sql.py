"""Hand-built SQL for the per-attempt hot path (claim, outcome, attempt insert).

Every attempt goes through a claim and an outcome write. Building those statements through the
ORM's query compiler cost ~3 ms of CPU per attempt, several times the SQL itself, which capped
a two-worker pool near 100 attempts/s. These helpers emit the same statements directly; values
are still adapted by each field's ``get_db_prep_save`` so types match what the ORM writes.
Statement texts are built once per shape and database vendor.

``run()`` executes several statements as one transaction, and on PostgreSQL in one round trip
(Django's client-side-binding cursor sends them as one simple query, which PostgreSQL runs as
one implicit transaction): a worker commits the previous run's outcome and the next claim
together.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.db.models.expressions import Col

from taskboard.models import pgpipeline, sqlitelock
from taskboard.models.choices import Status

# (sql, params): one statement of a ``run()`` batch.
Statement = tuple[str, list[Any]]

_quoted: dict[tuple[str, str], str] = {}
_texts: dict[tuple[str, Hashable], str] = {}


def _q(name: str) -> str:
    # Memoised: every connection.ops access goes through a thread-local proxy.
    key = (connection.vendor, name)
    if key not in _quoted:
        _quoted[key] = connection.ops.quote_name(name)
    return _quoted[key]


def _column(field: models.Field[Any, Any] | models.ForeignObjectRel | None) -> str:
    """The quoted column of a concrete field (reverse relations and pk-less models have none)."""
    if not isinstance(field, models.Field) or field.column is None:
        raise TypeError(f"{field!r} is not a concrete column")
    return _q(field.column)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise TypeError(f"{model.__name__}.{name} is a reverse relation, not a column")
    return field


def _pk(model: type[models.Model]) -> models.Field[Any, Any]:
    pk = model._meta.pk
    if pk is None:
        raise TypeError(f"{model.__name__} has no primary key")
    return pk


def text(shape: Hashable, build: Callable[[], str]) -> str:
    """The SQL of ``shape`` for the current vendor, built once by ``build()``."""
    key = (connection.vendor, shape)
    sql = _texts.get(key)
    if sql is None:
        sql = _texts[key] = build()
    return sql


def _prep(field: models.Field[Any, Any], value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def guard(column: str, size: int | None = None) -> str:
    """``column = %s`` (``IN`` ``size`` values, if given) beside a primary-key test, written on
    PostgreSQL so that no index can serve it.

    The hot path's statements address a run by primary key and test its status (or attempt)
    besides. They are prepared (pgpipeline), and a prepared statement's generic plan, built
    once per connection, may be made while the table has no statistics yet: the planner then
    rates ``run_status_list`` (status first) as cheap as the primary key and looks the run up
    by walking every run of that status — measured at 3× the server time per run after a few
    thousand runs, growing with the queue. ``(… = %s) IS TRUE`` filters exactly as ``=`` does
    in a WHERE (NULL does not match) but is not an index condition, so only the primary key is.
    """
    test = f"{column} = %s" if size is None else f"{column} IN ({', '.join(['%s'] * size)})"
    return f"({test}) IS TRUE" if connection.vendor == "postgresql" else test


def update_statement(model: type[models.Model], pk_value: Any, changes: Mapping[str, Any],
                     where: Mapping[str, Any]) -> Statement:
    """``UPDATE … SET changes WHERE pk = pk_value AND where`` (a list value means ``IN``)."""
    meta = model._meta
    pk = _pk(model)
    where_shape = tuple((name, len(v) if isinstance(v, list | tuple) else None) for name, v in where.items())
    shape = ("update", model, tuple(changes), where_shape)

    def build() -> str:
        sets = [f"{_column(_field(model, name))} = %s" for name in changes]
        conditions = [f"{_column(pk)} = %s"]
        for name, size in where_shape:
            column = _column(_field(model, name))
            conditions.append(guard(column, size))
        return f"UPDATE {_q(meta.db_table)} SET {', '.join(sets)} WHERE {' AND '.join(conditions)}"

    params = [_prep(_field(model, name), value) for name, value in changes.items()]
    params.append(pk.get_db_prep_value(pk_value, connection))
    for name, value in where.items():
        field = _field(model, name)
        if isinstance(value, list | tuple):
            params.extend(field.get_db_prep_value(v, connection) for v in value)
        else:
            params.append(field.get_db_prep_value(value, connection))
    return text(shape, build), params


def update(model: type[models.Model], pk: Any, changes: Mapping[str, Any],
           where: Mapping[str, Any]) -> int:
    """Run ``update_statement``; the number of rows changed."""
    sql, params = update_statement(model, pk, changes, where)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def insert_fields(model: type[models.Model], fields: Iterable[str] | None = None) -> list[models.Field[Any, Any]]:
    """The concrete fields an INSERT writes (all but an auto primary key, or ``fields``)."""
    concrete = [f for f in model._meta.concrete_fields
                if not f.primary_key or not isinstance(f, models.AutoField)]
    if fields is not None:
        wanted = set(fields)
        concrete = [f for f in concrete if f.name in wanted or f.attname in wanted]
    return concrete


def insert_values(instance: models.Model, fields: Sequence[models.Field[Any, Any]]) -> list[Any]:
    return [_prep(f, f.pre_save(instance, add=True)) for f in fields]


def insert(instance: models.Model, fields: Iterable[str] | None = None) -> None:
    """INSERT one row without reading back its (auto) primary key."""
    meta = instance._meta
    concrete = insert_fields(type(instance), fields)

    def build() -> str:
        columns = ", ".join(_column(f) for f in concrete)
        return f"INSERT INTO {_q(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(concrete))})"

    sql = text(("insert", type(instance), tuple(f.attname for f in concrete)), build)
    with connection.cursor() as cursor:
        cursor.execute(sql, insert_values(instance, concrete))


def prepared_statements() -> bool:
    """PostgreSQL: the hot path's statements go prepared, in a pipeline (see pgpipeline)."""
    from taskboard.conf import conf

    return bool(conf.PG_PREPARED_STATEMENTS)


def run(statements: Sequence[Statement]) -> list[tuple[int, list[tuple[Any, ...]]]]:
    """Execute ``statements`` atomically; ``(rowcount, rows)`` of each, in order.

    PostgreSQL: one round trip (prepared statements in a pipeline, or one simple query
    with ``PG_PREPARED_STATEMENTS`` off). SQLite (in-process): one transaction, queued behind the other
    hot-path writers (see sqlitelock). Every caller writes.
    """
    if not statements:
        return []
    results: list[tuple[int, list[tuple[Any, ...]]]] = []
    if connection.vendor == "postgresql" and prepared_statements():
        return pgpipeline.run(statements)
    if connection.vendor == "postgresql" and len(statements) > 1:
        sql = ";\n".join(s for s, _ in statements)
        params = [p for _, ps in statements for p in ps]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            raw = cursor.cursor  # psycopg's cursor: one result per statement
            while True:
                rows = raw.fetchall() if pgpipeline.returned_rows(raw) else []
                results.append((raw.rowcount, rows))
                if not raw.nextset():
                    break
        return results
    # A single statement is atomic on its own (and needs no BEGIN/COMMIT round trips).
    atomic = transaction.atomic() if len(statements) > 1 else nullcontext()
    with sqlitelock.write_turn(connection), atomic, connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            rows = cursor.fetchall() if cursor.description is not None else []
            results.append((cursor.rowcount, rows))
    return results


# Per vendor and model: each concrete column with the converters the ORM applies when reading it.
_converters: dict[tuple[str, type[models.Model]], list[tuple[Col, list[Any]]]] = {}


def returning_columns(model: type[models.Model]) -> str:
    return text(("returning", model), lambda: ", ".join(_column(f) for f in model._meta.concrete_fields))


def from_row[M: models.Model](model: type[M], row: tuple[Any, ...]) -> M:
    """Build an instance from a row of ``returning_columns(model)``, converted like the ORM does."""
    key = (connection.vendor, model)
    if key not in _converters:
        table: list[tuple[Col, list[Any]]] = []
        for field in model._meta.concrete_fields:
            col = field.get_col(model._meta.db_table)
            table.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
        _converters[key] = table
    values = []
    for value, (col, converters) in zip(row, _converters[key], strict=True):
        for convert in converters:
            value = convert(value, col, connection)
        values.append(value)
    return model.from_db(connection.alias, [f.attname for f in model._meta.concrete_fields], values)


def claim_sql(model: type[models.Model]) -> str:
    """Start a queued run's next attempt: UPDATE … RETURNING (PostgreSQL, SQLite >= 3.35)
    claims and reads the row in one statement, without the query compiler."""
    q = connection.ops.quote_name
    return (f"{claim_update(model)} WHERE {q('id')} = %s AND {guard(q('status'))} "
            f"RETURNING {returning_columns(model)}")


def claim_update(model: type[models.Model]) -> str:
    """``UPDATE … SET`` of a claim: six parameters (status, now ×3, lease end, worker)."""
    q = connection.ops.quote_name
    return (f"UPDATE {q(model._meta.db_table)} SET {q('status')} = %s, {q('attempts')} = {q('attempts')} + 1, "
            f"{q('started_at')} = COALESCE({q('started_at')}, %s), {q('claimed_at')} = %s, "
            f"{q('heartbeat_at')} = %s, {q('lease_expires_at')} = %s, {q('worker')} = %s")


def claim_params(worker: str, lease_seconds: float, now: datetime) -> list[Any]:
    """The six parameters of ``claim_update``: running, now ×3, the lease's end, the worker."""
    ops = connection.ops
    stamp = ops.adapt_datetimefield_value(now)
    lease_end = ops.adapt_datetimefield_value(now + timedelta(seconds=lease_seconds))
    return [Status.RUNNING.value, stamp, stamp, stamp, lease_end, worker]


def not_paused(table: str, pause_table: str) -> str:
    """``NOT EXISTS`` a pause of the queue or the task of the row of ``table`` (quoted)."""
    q = connection.ops.quote_name
    return (f"NOT EXISTS (SELECT 1 FROM {q(pause_table)} p WHERE "
            f"(p.{q('scope')} = 'queue' AND p.{q('name')} = {table}.{q('queue')}) OR "
            f"(p.{q('scope')} = 'task' AND p.{q('name')} = {table}.{q('task')}))")


def conditional_insert_sql(model: type[models.Model], tail: str, fields: Sequence[models.Field[Any, Any]]) -> str:
    """``INSERT INTO … (…) SELECT %s, … <tail>``: a row written only if ``tail`` holds (the
    success path inserts its attempt row only when the run's UPDATE matched)."""
    q = connection.ops.quote_name
    columns = ", ".join(_column(f) for f in fields)
    return (f"INSERT INTO {q(model._meta.db_table)} ({columns}) "
            f"SELECT {', '.join(['%s'] * len(fields))} {tail}")


def plain_claim_sql(model: type[models.Model], pause_table: str, limited_queues: int, jump: bool = True) -> str:
    """The hot path's claim with flow control folded in, still one statement.

    With ``jump``, the message is a token for its queue: it claims the queue's best queued run
    *without constraints* whose priority is higher than its own run's (a priority jump over the
    FIFO broker and the clusters' prefetch), else its own run; when its own run is no longer
    queued (another token took it) it claims the best one of the queue, so every queued run
    still meets one message. Without it (no queue has mixed priorities, see
    ``priority_mix``) the message claims its own run only. The run must have no
    concurrency/rate key and no breaker, not sit in a queue with a global limit, and neither
    its queue nor its task may be paused (NOT EXISTS against the small pause table). Anything
    else finds nothing here and goes through ``taskboard.flow.admission``. Parameters: the six
    SET values of ``claim_sql``, then (with ``jump``) the message's run id twice,
    ``queued``, then the run id and ``queued``, then the limited queues.
    """
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    plain = f"{q('concurrency_key')} = '' AND {q('rate_key')} = '' AND {q('breaker')} = ''"
    target = "%s"
    if jump:
        own_status = f"o.{q('status')}"
        # The status is a literal here, so the partial index run_queued_priority matches
        # even in a prepared statement's generic plan.
        best = (f"SELECT b.{q('id')} FROM {table} b WHERE b.{q('status')} = 'queued' "
                f"AND b.{q('queue')} = (SELECT m.{q('queue')} FROM {table} m WHERE m.{q('id')} = %s) "
                f"AND b.{q('concurrency_key')} = '' AND b.{q('rate_key')} = '' AND b.{q('breaker')} = '' "
                f"AND b.{q('priority')} > COALESCE((SELECT o.{q('priority')} FROM {table} o "
                f"WHERE o.{q('id')} = %s AND {guard(own_status)}), -32769) "
                f"ORDER BY b.{q('priority')} DESC, b.{q('enqueued_at')} LIMIT 1")
        target = f"COALESCE(({best}), %s)"
    limited = (f" AND {q('queue')} NOT IN ({', '.join(['%s'] * limited_queues)})" if limited_queues else "")
    return (
        f"{claim_update(model)} "
        f"WHERE {q('id')} = {target} AND {guard(q('status'))} AND {plain}{limited} "
        f"AND {not_paused(table, pause_table)} "
        f"RETURNING {returning_columns(model)}"
    )
