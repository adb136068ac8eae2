"""Throwaway databases for the benchmarks: a new SQLite file or a new PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgres://postgres@127.0.0.1:5432/{name}"


def fresh(db: str, sqlite_path: str, pg_name: str) -> dict[str, str]:
    """Start ``db`` empty: the SQLite file removed (with its WAL, shared-memory and writers'
    lock files), or the PostgreSQL database dropped and created. Returns the settings that
    point at it (``DATABASE_URL``, and ``TASKBOARD_SQLITE_PATH`` for SQLite)."""
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm", "-writers.lock"):
            Path(sqlite_path + suffix).unlink(missing_ok=True)
        return {"DATABASE_URL": "", "TASKBOARD_SQLITE_PATH": sqlite_path}
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {pg_name}")
    return {"DATABASE_URL": PG_URL.format(name=pg_name)}


def drop_postgres(pg_name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
