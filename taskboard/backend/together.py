"""Several INSERTs committed together, with the least overhead each database allows.

An operator's enqueue writes the run, its message (ORM broker), its audit event and the
event's run link: one transaction (``operations.enqueue``). ``run_together`` executes such a
list of ``(sql with %s placeholders, params)``:

- **PostgreSQL** (prepared statements on): as one statement, the leading INSERTs as
  data-modifying CTEs, prepared once per connection: atomic by itself, one round trip, no
  BEGIN/COMMIT, no pipeline mode.
- **SQLite**, outside a transaction: under the write lock (``sqlitelock``), BEGIN, the
  statements and COMMIT straight on the driver, and **group commit** between the threads of a
  process: a thread that finds another one writing leaves its statements to it and waits; the
  next writer commits every waiting list in one transaction. Each SQLite call releases the GIL,
  and while it is released another request thread may take it for up to the switch interval
  (5 ms) while the write lock stays held: in a threaded server that, not SQLite, made the lock
  the bottleneck. A failing list never takes the others with it: the transaction is rolled
  back and each list then written in a transaction of its own.
- Otherwise (statements logged or wrapped, PostgreSQL without prepared statements):
  ``models.sql.run``. Inside the caller's transaction, always in a savepoint.
"""

from __future__ import annotations

import os
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from taskboard.backend import rows
from taskboard.models import sql as rowsql
from taskboard.models import sqlitelock

Statements = list[tuple[str, list[Any]]]

# Statement texts kept per shape (``?`` forms, merged CTEs).
SHAPES_MAX = 256
# Lists committed in one SQLite transaction at most.
GROUP_MAX = 64


def run_together(statements: Statements) -> None:
    """Execute ``statements`` as one transaction (see the module's docstring)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "sqlite" and not (db.in_atomic_block or db.queries_logged or db.execute_wrappers
                                      or len(statements) < 2):
        _group_commit(db, statements)
        return
    # Inside the caller's transaction, a savepoint: a failure here must not leave that
    # transaction aborted (PostgreSQL) for a caller that catches it.
    with transaction.atomic(using=db.alias) if db.in_atomic_block else nullcontext():
        one = _as_one(statements) if db.vendor == "postgresql" and rowsql.prepared_statements() else None
        if one is not None:
            rows.execute_prepared(db, *one)
        else:
            rowsql.run(statements)


# --- PostgreSQL ---------------------------------------------------------------------------------

_ONE: dict[tuple[str, ...], str] = {}


def _as_one(statements: Statements) -> tuple[str, list[Any]] | None:
    """``statements`` as one: ``WITH s0 AS (INSERT …), s1 AS (…) <last>`` (a last statement
    with CTEs of its own lends them its ``WITH``). None when a leading statement has a
    ``WITH`` of its own (they do not nest)."""
    if len(statements) < 2:
        return None
    texts = tuple(sql for sql, _ in statements)
    sql = _ONE.get(texts)
    if sql is None:
        *leading, last = texts
        if any(text.lstrip().upper().startswith("WITH ") for text in leading):
            return None
        ctes = ", ".join(f"s{i} AS ({text})" for i, text in enumerate(leading))
        last = last.lstrip()
        merged = f"WITH {ctes}, {last[5:]}" if last.upper().startswith("WITH ") else f"WITH {ctes} {last}"
        if len(_ONE) >= SHAPES_MAX:
            _ONE.clear()
        sql = _ONE[texts] = merged
    return sql, [param for _, params in statements for param in params]


# --- SQLite -------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Entry:
    statements: Statements
    done: bool = False
    error: BaseException | None = None


@dataclass(eq=False)
class _Group:
    """The lists waiting to be written to one database file by this process."""

    cond: threading.Condition = field(default_factory=threading.Condition)
    waiting: list[_Entry] = field(default_factory=list)
    writing: bool = False


_groups: dict[tuple[int, str], _Group] = {}
_groups_lock = threading.Lock()
_QMARKS: dict[str, str] = {}


def _group_of(db: BaseDatabaseWrapper) -> _Group:
    key = (os.getpid(), str(db.settings_dict["NAME"]))  # a forked child has its own threads
    group = _groups.get(key)
    if group is None:
        with _groups_lock:
            group = _groups.setdefault(key, _Group())
    return group


def _group_commit(db: BaseDatabaseWrapper, statements: Statements) -> None:
    group = _group_of(db)
    entry = _Entry(statements)
    with group.cond:
        group.waiting.append(entry)
        while group.writing and not entry.done:
            group.cond.wait()
        if not entry.done:
            group.writing = True  # this thread writes every list waiting now, its own among them
    if not entry.done:
        try:
            while True:
                with group.cond:
                    batch, group.waiting = group.waiting[:GROUP_MAX], group.waiting[GROUP_MAX:]
                if not batch:
                    break
                _write(db, batch)
                with group.cond:
                    group.cond.notify_all()
                if entry in batch:  # written: later lists are for the next writer
                    break
        finally:
            with group.cond:
                group.writing = False
                group.cond.notify_all()
    if entry.error is not None:
        raise entry.error


def _write(db: BaseDatabaseWrapper, batch: list[_Entry]) -> None:
    """Commit ``batch`` in one transaction; if that fails, each list in one of its own. Every
    entry ends ``done``, with its own error if it failed."""
    try:
        rows.driver_ready(db)  # outside any transaction (run_together): nothing to roll back
        with sqlitelock.write_turn(db):
            try:
                _transaction(db, [s for entry in batch for s in entry.statements])
            except Exception:
                if len(batch) == 1:
                    raise
                for entry in batch:
                    try:
                        _transaction(db, entry.statements)
                    except Exception as exc:
                        entry.error = exc
                    entry.done = True
    except BaseException as exc:  # the whole batch failed (or the one list of it)
        for entry in batch:
            if not entry.done:
                entry.error = exc
    for entry in batch:
        entry.done = True


def _transaction(db: BaseDatabaseWrapper, statements: Statements) -> None:
    mode = getattr(db, "transaction_mode", None)  # the settings' IMMEDIATE (SQLite's wrapper only)
    with db.wrap_database_errors:
        raw = db.connection
        cursor = raw.cursor()
        try:
            cursor.execute(f"BEGIN {mode}" if mode else "BEGIN")
            try:
                for sql, params in statements:
                    qmark = _QMARKS.get(sql)
                    if qmark is None:
                        if len(_QMARKS) >= SHAPES_MAX:
                            _QMARKS.clear()
                        qmark = _QMARKS[sql] = sql.replace("%s", "?")  # no other % in these texts
                    cursor.execute(qmark, params)
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
        finally:
            cursor.close()
