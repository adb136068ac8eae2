"""Several independent reads sent together: one round trip on PostgreSQL.

An evaluation reads about ten small things (the firing alerts, the rule overrides, open
breakers, running runs, live workers…). One round trip each cost more than the statements
themselves on a busy host: every trip waits for the database process and then for this one to
be scheduled again. ``fetch`` sends the compiled SELECTs as one simple query (Django's
client-side-binding cursor, as ``models.sql.run`` does for the hot path; PostgreSQL runs them
as one implicit transaction, so they also see one snapshot) and converts each result as the
ORM would. SQLite is in-process: its reads run one by one.

Building and compiling a queryset costs ~0.5 ms of CPU, more than most of these reads take in
the database. A ``Fixed`` read has no value of the moment in its SQL (the firing alerts, the
running runs…): it is built and compiled once per thread and database, then only executed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.sql.compiler import SQLCompiler

type Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Fixed:
    """A read whose SQL never changes (no time, no setting in it), on the default database:
    ``build()`` makes its queryset."""

    build: Callable[[], QuerySet[Any, Any]]


type Read = QuerySet[Any, Any] | Fixed
type Compiled = tuple[SQLCompiler, str, tuple[Any, ...]] | None  # None: a read that matches nothing

# Each fixed read's compiled SQL, with the connection it was compiled for: a compiler converts
# values with its connection's operations, and each thread has its own connection object.
_compiled: dict[Callable[[], QuerySet[Any, Any]], tuple[BaseDatabaseWrapper, Compiled]] = {}


def _compile(qs: QuerySet[Any, Any]) -> Compiled:
    compiler = qs.query.get_compiler(using=qs.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:  # e.g. ``pk__in=[]``: the ORM does not ask the database either
        return None
    return compiler, sql, tuple(params)


def _compiled_once(read: Fixed) -> Compiled:
    connection = connections[DEFAULT_DB_ALIAS]
    cached = _compiled.get(read.build)
    if cached is None or cached[0] is not connection:
        cached = _compiled[read.build] = (connection, _compile(read.build()))
    return cached[1]


def fetch(reads: Mapping[str, Read], plain: Collection[str] = ()) -> dict[str, Rows]:
    """The rows of each ``values_list`` queryset in ``reads`` (all on one database), by name.

    ``plain`` names reads of text and integers only, returned as the driver gives them: a read
    of thousands of such rows costs twice the CPU time through Django's per-value converters.
    """
    results: dict[str, Rows] = {}
    pending = []
    for name, read in reads.items():
        compiled = _compiled_once(read) if isinstance(read, Fixed) else _compile(read)
        if compiled is None:
            results[name] = []
            continue
        pending.append((name, *compiled))
    if not pending:
        return results
    connection = connections[pending[0][1].using or DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(pending) > 1:
            cursor.execute(";\n".join(sql for _, _, sql, _ in pending), [p for *_, params in pending for p in params])
            raw = cursor.cursor  # psycopg's: one result set per statement
            batches = []
            for _ in pending:
                batches.append(raw.fetchall())
                raw.nextset()
        else:
            batches = []
            for _, _, sql, params in pending:
                cursor.execute(sql, params)
                batches.append(cursor.fetchall())
    for (name, compiler, _, _), rows in zip(pending, batches, strict=True):
        results[name] = rows if name in plain else cast(Rows, list(compiler.results_iter(results=[rows],
                                                                                          tuple_expected=True)))
    return results
