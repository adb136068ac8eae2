"""The worker's per-run database cost, without the broker, the cluster or the task.

    .venv/bin/python -m bench.hotpath                      # PostgreSQL
    .venv/bin/python -m bench.hotpath --db sqlite --n 3000 --rounds 5
    .venv/bin/python -m bench.hotpath --alone              # each outcome committed by itself

A throwaway database is migrated; one child process then does, per round and per variant
(interleaved: off, on, off, on …), what a cluster worker does for a run that succeeds: claim
the run with the previous run's outcome riding on the claim (``TaskRun.objects.claim_with``,
one transaction), then build the run's outcome statements (``success_statements``). With
``--alone``, what a worker does for a run whose outcome is not deferred (one that holds a flow
slot, or any run when no next message comes): the claim alone, then the outcome committed
alone. Runs come from ``enqueue_many`` outside the timing. Reported per run: wall time, the client's CPU and,
on PostgreSQL, the server backend's CPU (``psutil`` on ``pg_backend_pid()``). The CPU figures
are what to compare on a busy machine: the wall time moves with the load, the CPU per run much
less. Variants: ``TASKBOARD["PG_PREPARED_STATEMENTS"]`` off (one simple query, parsed and
planned each time) and on (prepared statements in one pipeline, ``models.pgpipeline``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench import databases

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = "/tmp/taskboard-bench-hotpath.sqlite3"


def child(db: str, n: int, rounds: int, alone: bool) -> None:
    import django

    django.setup()
    import psutil
    from django.conf import settings
    from django.db import connection
    from django.test.utils import override_settings
    from django.utils import timezone

    from taskboard.bulk import enqueue_many
    from taskboard.demo import noop
    from taskboard.models import Outcome, Status, TaskAttempt, TaskRun
    from taskboard.models import sql as rowsql

    def one_round(prepared: bool) -> dict[str, float]:
        ids = [uuid.UUID(pk) for pk in enqueue_many(noop, [{}] * n).ids]
        backend = None
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend = psutil.Process(cursor.fetchone()[0])
        with override_settings(TASKBOARD={**settings.TASKBOARD, "PG_PREPARED_STATEMENTS": prepared}):
            server = sum(backend.cpu_times()[:2]) if backend else 0.0
            cpu, wall = time.process_time(), time.perf_counter()
            riders: list[rowsql.Statement] = []
            for run_id in ids:
                run, _ = TaskRun.objects.claim_with(run_id, "bench-hotpath", 15.0, riders)
                assert run is not None, run_id
                attempt = TaskAttempt(run=run, task=run.task, number=run.attempts, outcome=Outcome.SUCCEEDED,
                                      started_at=run.claimed_at or timezone.now(), finished_at=timezone.now(),
                                      worker=run.worker)
                riders = run.success_statements(attempt, None)
                if alone:
                    rowsql.run(riders)
                    riders = []
            rowsql.run(riders)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            server = (sum(backend.cpu_times()[:2]) - server) if backend else 0.0
        done = TaskRun.objects.filter(pk__in=ids, status=Status.SUCCEEDED).count()
        attempts = TaskAttempt.objects.filter(run_id__in=ids).count()
        assert done == n and attempts == n, (done, attempts)
        TaskAttempt.objects.filter(run_id__in=ids).delete()
        TaskRun.objects.filter(pk__in=ids).delete()
        return {"wall": wall / n * 1e6, "client": cpu / n * 1e6, "server": server / n * 1e6}

    variants = [False, True] if connection.vendor == "postgresql" else [False]
    one_round(True)  # warm-up: imports, statement texts, the first prepares
    results: dict[str, list[dict[str, float]]] = {str(v): [] for v in variants}
    for _ in range(rounds):
        for prepared in variants:
            results[str(prepared)].append(one_round(prepared))
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--n", type=int, default=2000, help="runs per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg-db", default="taskboard_bench_hotpath", help="created, and dropped after the run")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="flushed")
    parser.add_argument("--alone", action="store_true", help="each outcome committed by itself, not on the next claim")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.n < 1 or args.rounds < 1:
        parser.error("--n and --rounds must be positive")
    if args.child:
        child(args.db, args.n, args.rounds, args.alone)
        return
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_DEMO": "0",
           "LOG_LEVEL": "WARNING"}
    env.update(databases.fresh(args.db, SQLITE_PATH, args.pg_db),
               TASKBOARD_BROKER_URL="", TASKBOARD_PROCESS="worker")
    import redis

    if args.db == "postgres":
        redis.Redis.from_url(args.redis_url).flushdb()
        env.update(TASKBOARD_BROKER_URL=args.redis_url)
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        load = os.getloadavg()[0]
        argv = [sys.executable, "-m", "bench.hotpath", "--child", "--db", args.db, "--n", str(args.n),
                "--rounds", str(args.rounds), *(["--alone"] if args.alone else [])]
        out = subprocess.run(argv, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    finally:
        databases.drop(args.db, SQLITE_PATH, args.pg_db)
        if args.db == "postgres":
            redis.Redis.from_url(args.redis_url).flushdb()
    results: dict[str, list[dict[str, Any]]] = json.loads(out.strip().splitlines()[-1])
    print(f"== {args.db}: {args.n} runs × {args.rounds} interleaved rounds, one process"
          f"{', each outcome alone' if args.alone else ', each outcome on the next claim'}; "
          f"load average {load:.1f} → {os.getloadavg()[0]:.1f} ==")
    print(f"  {'PG_PREPARED_STATEMENTS':24} {'wall µs/run':>12} {'client CPU':>11} {'server CPU':>11}   (medians)")
    for variant, rows in results.items():
        med = {k: statistics.median(r[k] for r in rows) for k in ("wall", "client", "server")}
        label = variant if args.db == "postgres" else "(n/a: SQLite)"
        print(f"  {label:24} {med['wall']:12,.0f} {med['client']:11,.0f} {med['server']:11,.0f}"
              f"   server by round: {', '.join(f'{r['server']:,.0f}' for r in rows)}")


if __name__ == "__main__":
    main()
