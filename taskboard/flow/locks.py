"""Serialising admission per key across hosts.

PostgreSQL: one ``FlowKey`` row per key, created on demand (``INSERT … ON CONFLICT DO
NOTHING``) and locked with ``SELECT … FOR UPDATE`` in sorted order (no deadlock between two
transactions that share keys). The lock is held to the end of the transaction, so whoever
counts a key's running runs next does it after this transaction's claim is committed and
visible (READ COMMITTED takes a new snapshot per statement).

SQLite: nothing to do. Every admission runs in a write transaction, which taskboard opens
``IMMEDIATE`` (the database's write lock is taken at BEGIN) behind the writers' ``flock``, so
two admissions never overlap at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

from taskboard.models import FlowKey


def lock_keys(keys: Iterable[str]) -> None:
    """Lock ``keys`` until the current transaction ends (call inside ``atomic``)."""
    wanted = sorted({k[:300] for k in keys if k})
    if not wanted or connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(FlowKey._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO {table} ("key") SELECT unnest(%s::text[]) ORDER BY 1 '
                       f"ON CONFLICT DO NOTHING", [wanted])
        cursor.execute(f'SELECT "key" FROM {table} WHERE "key" = ANY(%s) ORDER BY "key" FOR UPDATE',
                       [wanted])
