"""The contenders: what each needs (a peer package, a fresh PostgreSQL database, a Redis
database) and which module measures it. Nothing here imports a peer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Spec:
    name: str
    label: str
    module: str  # bench.peers.<module>: its ``build(driver)`` runs in the driver process
    peer: str | None = None  # the package `make bench-peers` installs, None: taskboard
    backend: str | None = None  # taskboard: bench.throughput's configuration (sqlite/postgres)
    pg_db: str | None = None  # a PostgreSQL database created before and dropped after
    redis_db: int | None = None  # a Redis database flushed before and after


CONTENDERS = {spec.name: spec for spec in (
    Spec("taskboard-sqlite", "taskboard, SQLite + ORM broker", "contender_taskboard", backend="sqlite"),
    Spec("taskboard-pg", "taskboard, PostgreSQL + Redis", "contender_taskboard", backend="postgres",
         pg_db="tb_peers_taskboard", redis_db=8),
    Spec("celery", "Celery 5.7, Redis, no result backend", "contender_celery", peer="celery", redis_db=7),
    Spec("procrastinate", "procrastinate 3.10, PostgreSQL", "contender_procrastinate", peer="procrastinate",
         pg_db="tb_peers_procrastinate"),
    Spec("django-tasks-db", "django-tasks-db 0.13, PostgreSQL", "contender_dtdb", peer="django_tasks_db",
         pg_db="tb_peers_dtdb"),
)}

MISSING_PEER = "not installed: {peer}; run `make bench-peers` first (the `bench` dependency group)"


def missing_peers(names: list[str]) -> list[str]:
    """The peer packages the given contenders need that are not installed (found, not imported)."""
    from importlib.util import find_spec

    peers = {CONTENDERS[name].peer for name in names} - {None}
    return sorted(peer for peer in peers if peer is not None and find_spec(peer) is None)


def require(peer: str) -> None:
    """In a contender's driver process, before its peer is imported: a clear stop if absent."""
    if missing_peers([name for name, spec in CONTENDERS.items() if spec.peer == peer]):
        raise SystemExit(MISSING_PEER.format(peer=peer))
