"""Throwaway databases for the benchmarks: a new SQLite file or a new PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

SERVER = "postgres://postgres@127.0.0.1:5432"
# The SQLite database's own files: WAL, shared memory, and the writers' lock (models.sqlitelock).
SQLITE_FILES = ("", "-wal", "-shm", "-writers.lock")


def fresh(db: str, sqlite_path: str, pg_name: str, server: str = SERVER) -> dict[str, str]:
    """Start ``db`` empty: the SQLite file removed (with its WAL, shared-memory and writers'
    lock files), or the PostgreSQL database dropped and created on ``server``. Returns the
    settings that point at it (``DATABASE_URL``, and ``TASKBOARD_SQLITE_PATH`` for SQLite)."""
    if db == "sqlite":
        drop(db, sqlite_path, pg_name)
        return {"DATABASE_URL": "", "TASKBOARD_SQLITE_PATH": sqlite_path}
    _admin(server, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)', f'CREATE DATABASE "{pg_name}"')
    return {"DATABASE_URL": f"{server}/{pg_name}"}


def drop(db: str, sqlite_path: str, pg_name: str, server: str = SERVER) -> None:
    """Remove what ``fresh`` made."""
    if db == "sqlite":
        for suffix in SQLITE_FILES:
            Path(sqlite_path + suffix).unlink(missing_ok=True)
    else:
        drop_postgres(pg_name, server)


def drop_postgres(pg_name: str, server: str = SERVER) -> None:
    """Drop the PostgreSQL database, after closing this process's Django connections (if
    Django is set up here) so none is cut off under it."""
    from django.conf import settings

    if settings.configured:
        from django.db import connections

        connections.close_all()
    _admin(server, f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def _admin(server: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
