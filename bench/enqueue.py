"""Enqueue throughput: taskboard's single ``enqueue`` and ``enqueue_many`` against
django-tasks-db's single enqueue and procrastinate's ``batch_defer``, on the same database.

    .venv/bin/python -m bench.enqueue                  # SQLite + ORM broker, then PostgreSQL + Redis
    .venv/bin/python -m bench.enqueue --db postgres --rounds 5 --n 3000
    .venv/bin/python -m bench.enqueue --pg-db my_bench --redis-url redis://127.0.0.1:6379/11   # side by side

For each configuration a throwaway database is created and migrated (``bench.enqueue_settings``:
taskboard's settings plus django-tasks-db as the ``dtdb`` backend), then one child process
measures every contender ``--rounds`` times, interleaved, from one thread with no worker
running, and reports the median enqueues/s:

- taskboard ``enqueue``: ``noop.enqueue()`` × ``--n`` in autocommit (one INSERT and one broker
  push each: an ORM-broker INSERT on SQLite, an ``RPUSH`` on Redis);
- taskboard ``enqueue_many``: ``--total`` runs in calls of ``--batch`` items, one transaction
  each, then one broker round trip per 500 runs;
- django-tasks-db ``enqueue``: its ``DatabaseBackend`` × ``--n`` (one INSERT; it has no broker);
- procrastinate ``defer`` and ``batch_defer`` (PostgreSQL only; procrastinate supports no
  other database): ``--n`` single defers, and ``--total`` jobs in calls of ``--batch``.

The peers come from ``make bench-peers``; a missing one is reported as such, not measured.
Rows are deleted (and the broker emptied) after each measurement, outside the timing. Nothing
is asserted: this is a benchmark, the README quotes its output.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from bench import databases

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = "/tmp/taskboard-bench-enqueue.sqlite3"
PG_NAME = "taskboard_bench_enqueue"
REDIS_URL = "redis://127.0.0.1:6379/13"

CONTENDERS = ("taskboard enqueue", "taskboard enqueue_many", "django-tasks-db enqueue",
              "procrastinate defer", "procrastinate batch_defer")


# --- the parent: one throwaway database per configuration ---------------------------------------

def configuration_env(db: str, args: argparse.Namespace) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.enqueue_settings", "TASKBOARD_DEMO": "0",
           "LOG_LEVEL": "WARNING"}
    env.update(databases.fresh(db, args.sqlite_path, args.pg_db), TASKBOARD_BROKER_URL="")
    if db == "postgres":
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()
        env.update(TASKBOARD_BROKER_URL=args.redis_url)
    return env


def drop(db: str, args: argparse.Namespace) -> None:
    if db == "postgres":
        databases.drop_postgres(args.pg_db)


def measure_configuration(db: str, args: argparse.Namespace) -> dict[str, list[float]]:
    env = configuration_env(db, args)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
        child = subprocess.run(
            [sys.executable, "-m", "bench.enqueue", "--child", db, "--n", str(args.n), "--total", str(args.total),
             "--batch", str(args.batch), "--rounds", str(args.rounds)],
            cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True)
        result: dict[str, list[float]] = json.loads(child.stdout.strip().splitlines()[-1])
        return result
    finally:
        drop(db, args)


def report(db: str, results: dict[str, list[float]], args: argparse.Namespace) -> None:
    title = "SQLite (WAL) + ORM broker" if db == "sqlite" else "PostgreSQL + Redis"
    print(f"== {title}: median of {args.rounds} interleaved rounds, one thread, no worker running ==")
    print(f"   (load average at the end: {os.getloadavg()[0]:.1f})")
    medians = {name: statistics.median(rates) for name, rates in results.items() if rates}
    for name in CONTENDERS:
        if name in medians:
            rates = ", ".join(f"{rate:,.0f}" for rate in results[name])
            cpu = medians.get(f"_cpu_{name}")
            print(f"  {name:28} {medians[name]:9,.0f} /s   {cpu:6,.0f} µs CPU/job (driver)   [{rates}]")
        else:
            print(f"  {name:28} {'—':>9}      ({results.get('_skipped_' + name, ['not measured'])[0]})")
    single, many = medians.get("taskboard enqueue"), medians.get("taskboard enqueue_many")
    dtdb, batch_defer = medians.get("django-tasks-db enqueue"), medians.get("procrastinate batch_defer")
    if single and dtdb:
        print(f"  enqueue vs django-tasks-db:        ×{single / dtdb:.2f}  (target ≥ 1.0)")
    if single and many:
        print(f"  enqueue_many vs enqueue:           ×{many / single:.1f}  (target ≥ 10)")
    if many and batch_defer:
        print(f"  enqueue_many vs batch_defer:       ×{many / batch_defer:.2f}  (target ≥ 1.0)")


# --- the child: the contenders, in one Django process --------------------------------------------

# A contender enqueues ``size`` jobs (its batch size is ``--batch``) and returns how many it did.
type Contender = Callable[[int], int]


def timed(work: Contender, size: int) -> tuple[float, float]:
    """Jobs per second (wall clock), and this process's CPU µs per job: on SQLite the whole
    cost (the database runs in-process), a figure far steadier than wall time on a busy box."""
    began, cpu = time.perf_counter(), time.process_time()
    count = work(size)
    return count / (time.perf_counter() - began), (time.process_time() - cpu) / count * 1e6


def taskboard_contenders(args: argparse.Namespace) -> dict[str, Contender]:
    from taskboard.bulk import enqueue_many
    from taskboard.demo import noop

    def single(size: int) -> int:
        for _ in range(size):
            noop.enqueue()
        return size

    def many(size: int) -> int:
        for _ in range(size // args.batch):
            enqueue_many(noop, [{}] * args.batch)
        return size // args.batch * args.batch

    return {"taskboard enqueue": single, "taskboard enqueue_many": many}


def dtdb_contenders(args: argparse.Namespace) -> dict[str, Contender]:
    from bench.enqueue_tasks import dtdb_noop

    def single(size: int) -> int:
        for _ in range(size):
            dtdb_noop.enqueue()
        return size

    return {"django-tasks-db enqueue": single}


def procrastinate_contenders(args: argparse.Namespace) -> tuple[dict[str, Contender], Callable[[], None]]:
    import procrastinate
    from django.db import connection

    dsn = " ".join(f"{key}={value}" for key, value in {
        "dbname": connection.settings_dict["NAME"], "user": connection.settings_dict["USER"] or "postgres",
        "host": connection.settings_dict["HOST"] or "127.0.0.1",
        "port": connection.settings_dict["PORT"] or 5432}.items())
    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=dsn))
    app.open()
    app.schema_manager.apply_schema()

    @app.task(name="noop")
    def noop() -> None:
        return None

    def single(size: int) -> int:
        for _ in range(size):
            noop.defer()
        return size

    def batch(size: int) -> int:
        for _ in range(size // args.batch):
            noop.batch_defer(*([{}] * args.batch))
        return size // args.batch * args.batch

    def clean() -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procrastinate_jobs")

    return {"procrastinate defer": single, "procrastinate batch_defer": batch}, clean


def child(db: str, args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.db import connection

    from bench.enqueue_settings import HAS_DTDB
    from taskboard.models import TaskRun
    from taskboard.transport import push

    contenders = taskboard_contenders(args)
    skipped: dict[str, list[Any]] = {}
    if HAS_DTDB:
        contenders |= dtdb_contenders(args)
    else:
        skipped["_skipped_django-tasks-db enqueue"] = ["django-tasks-db not installed: make bench-peers"]
    clean_procrastinate: Callable[[], None] | None = None
    if db != "postgres":
        for name in ("procrastinate defer", "procrastinate batch_defer"):
            skipped[f"_skipped_{name}"] = ["procrastinate supports PostgreSQL only"]
    elif find_spec("procrastinate") is None:
        for name in ("procrastinate defer", "procrastinate batch_defer"):
            skipped[f"_skipped_{name}"] = ["procrastinate not installed: make bench-peers"]
    else:
        more, clean_procrastinate = procrastinate_contenders(args)
        contenders |= more

    def clean() -> None:
        TaskRun.objects.all().delete()
        push.broker_for("default").purge_queue()
        if HAS_DTDB:
            from django_tasks_db.models import DBTaskResult

            DBTaskResult.objects.all().delete()
        if clean_procrastinate is not None:
            clean_procrastinate()
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size(name: str) -> int:
        return args.total if name.endswith(("many", "batch_defer")) else args.n

    results: dict[str, list[Any]] = {name: [] for name in contenders}
    cpu: dict[str, list[Any]] = {f"_cpu_{name}": [] for name in contenders}
    for name, work in contenders.items():  # warm-up: imports, statement caches, connections
        work(args.batch if name.endswith(("many", "batch_defer")) else 50)
    clean()
    for _ in range(args.rounds):
        for name, work in contenders.items():
            rate, micros = timed(work, size(name))
            results[name].append(rate)
            cpu[f"_cpu_{name}"].append(micros)
            clean()
    results |= cpu
    print(json.dumps({**results, **skipped}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--n", type=int, default=2000, help="single enqueues per round (default 2000)")
    parser.add_argument("--total", type=int, default=20000, help="runs per round of the bulk contenders")
    parser.add_argument("--batch", type=int, default=1000, help="items per enqueue_many/batch_defer call")
    parser.add_argument("--rounds", type=int, default=3)
    # Other names for the throwaway database and broker (benchmarks running side by side).
    parser.add_argument("--sqlite-path", default=SQLITE_PATH)
    parser.add_argument("--pg-db", default=PG_NAME, help=f"PostgreSQL database to create and drop ({PG_NAME})")
    parser.add_argument("--redis-url", default=REDIS_URL, help=f"Redis db to flush and use ({REDIS_URL})")
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        report(db, measure_configuration(db, args), args)


if __name__ == "__main__":
    main()
