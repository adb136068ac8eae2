"""Alert evaluation cost at 1,000,000 runs: queries and milliseconds per evaluation.

    .venv/bin/python -m bench.alerts                     # PostgreSQL: seed, then measure
    .venv/bin/python -m bench.alerts --reuse             # measure the seeded database again
    .venv/bin/python -m bench.alerts --db sqlite

A throwaway database (PostgreSQL ``taskboard_bench_alerts``, or ``/tmp/taskboard-bench-alerts.sqlite3``)
is migrated and seeded by ``bench.seed`` (1,000,000 runs, ~3,000,000 attempts, ~50,000 dead
letters over 30 days). Then ``--busy`` runs are added that finished over the last 10 minutes
(so the failure-rate window has rows to count, ~70 runs/s; they replace an earlier
measurement's, so the table stays at 1,042,000 runs with ``--reuse``), and the evaluator runs as a clock
would: one evaluation every ``--every`` seconds, ``--repeat`` times, in-process, as the lease
holder, with every rule on and no channel configured (a notification is then one row). A live
worker serves the queues (its heartbeat is refreshed between evaluations), so the seeded
backlog fires ``queue_wait``, which reads the exact oldest wait, rather than ``no_workers``.

Reported: the first evaluation (it opens every alert of the seeded history and reads the
failure-rate window once), then p50/p95/max of the steady evaluations (those that change
nothing: every rule read, every firing alert reconciled) with the CPU time this process spent
in them (load-insensitive, unlike the wall time), their SQL statements and the round trips
that carried them; each evaluation that opened, resolved or notified alerts (a group wait
after the first one, the ~110 new alerts are notified together) on its own; and what a host
that does not hold the lease pays (one indexed read). Statements are counted with an execute
wrapper, not Django's debug cursor, which would format every statement's text as it goes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.dashboard import seed_fresh_database

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = "/tmp/taskboard-bench-alerts.sqlite3"
PG_NAME = "taskboard_bench_alerts"


def db_env(db: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_DEMO": "0",
           "TASKBOARD_BROKER_URL": "", "TASKBOARD_ALERT_WEBHOOK_URL": "", "TASKBOARD_ALERT_EMAILS": "",
           "TASKBOARD_ALERT_URLS": "", "ADMINS": ""}
    if db == "sqlite":
        env.update(DATABASE_URL="", TASKBOARD_SQLITE_PATH=SQLITE_PATH)
    else:
        env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{PG_NAME}")
    return env


def prepare(db: str, runs: int, attempts: int) -> None:
    seed_fresh_database(db, db_env(db), SQLITE_PATH, PG_NAME, runs, attempts)


BUSY_MARK = "bench.alerts busy window"  # the correlation id of the runs add_busy_window adds


def add_busy_window(n: int) -> None:
    """``n`` runs that finished over the last 10 minutes, 5 % failed, across the seed's tasks;
    they replace those of an earlier measurement, so the runs table keeps its size with ``--reuse``."""
    import random
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from bench.seed import TASKS, pick
    from taskboard.models import Status, TaskRun

    with connection.cursor() as cursor:  # nothing refers to them: no cascade to collect
        cursor.execute(f"DELETE FROM {TaskRun._meta.db_table} WHERE correlation_id = %s", [BUSY_MARK])
    rng = random.Random(7)
    now = timezone.now()
    rows = []
    for _ in range(n):
        finished = now - timedelta(seconds=rng.uniform(0, 600))
        rows.append(TaskRun(task=pick(TASKS, rng), status=Status.FAILED if rng.random() < 0.05 else Status.SUCCEEDED,
                            enqueued_at=finished - timedelta(seconds=2), started_at=finished - timedelta(seconds=1),
                            claimed_at=finished - timedelta(seconds=1), finished_at=finished, attempts=1,
                            correlation_id=BUSY_MARK))
    TaskRun.objects.bulk_create(rows, batch_size=5000)


def measure(repeat: int, every: float, busy: int) -> dict[str, Any]:
    """Runs inside a subprocess configured for one database."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from taskboard.models import Alert, AlertLease, DeadLetter, Notification, TaskRun
    from taskboard.notify import evaluate, tally

    Alert.objects.all().delete()
    AlertLease.objects.all().delete()
    tally.reset()
    if busy:
        add_busy_window(busy)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE taskboard_taskrun")
            cursor.execute("VACUUM ANALYZE taskboard_deadletter")

    from taskboard.conf import configured_queues
    from taskboard.models import WorkerNode

    def heartbeat() -> None:
        WorkerNode.objects.update_or_create(id="bench-worker", defaults={
            "hostname": "bench", "pid": os.getpid(), "queues": configured_queues(), "last_seen": timezone.now()})

    trips: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        trips.append(sql)
        return execute(sql, params, many, context)

    def once(holder: str = "bench:1") -> tuple[float, float, int, int, evaluate.Evaluation]:
        """Wall ms, CPU ms, statements, round trips, and the evaluation's result."""
        heartbeat()
        trips.clear()
        with connection.execute_wrapper(count):
            began, cpu = time.perf_counter(), time.process_time()
            result = evaluate.evaluate(now=timezone.now(), holder=holder)
            elapsed, cpu = (time.perf_counter() - began) * 1000, (time.process_time() - cpu) * 1000
        statements = sum(sql.count(";\n") + 1 for sql in trips)  # reads.fetch joins a batch with ";\n"
        return elapsed, cpu, statements, len(trips), result

    first_ms, _, first_queries, _, first = once()
    print(f"  first evaluation: {first_ms:8.1f} ms  {first_queries:3} statements  opened {first.opened} alerts",
          flush=True)
    timings: list[float] = []
    cpus: list[float] = []
    queries: list[int] = []
    round_trips: list[int] = []
    bursts: list[tuple[float, int, int]] = []  # evaluations that sent notifications
    for _ in range(repeat):
        time.sleep(every)
        ms, cpu, n, rt, result = once()
        if result.notified or result.opened or result.resolved:
            bursts.append((round(ms, 1), n, result.notified))
            continue
        timings.append(ms)
        cpus.append(cpu)
        queries.append(n)
        round_trips.append(rt)
    other_ms, _, other_queries, _, other = once("bench-other:2")
    assert not other.held
    WorkerNode.objects.filter(id="bench-worker").delete()
    timings.sort()
    cpus.sort()

    def p95(values: list[float]) -> float:
        return round(values[max(0, int(len(values) * 0.95) - 1)], 1)

    summary = {
        "vendor": connection.vendor, "runs": TaskRun.objects.count(), "dead_letters": DeadLetter.objects.count(),
        "open_dead_letters": DeadLetter.objects.unresolved().count(), "busy_runs": busy,
        "firing": Alert.objects.firing().count(), "notifications": Notification.objects.count(),
        "first_ms": round(first_ms, 1), "first_queries": first_queries,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": p95(timings), "max_ms": round(timings[-1], 1),
        "cpu_p50_ms": round(statistics.median(cpus), 1), "cpu_p95_ms": p95(cpus),
        "queries_min": min(queries), "queries_max": max(queries),
        "round_trips_min": min(round_trips), "round_trips_max": max(round_trips), "evaluations": len(timings),
        "bursts": bursts,
        "non_holder_ms": round(other_ms, 1), "non_holder_queries": other_queries,
    }
    print(f"  steady: p50 {summary['p50_ms']} ms  p95 {summary['p95_ms']} ms  max {summary['max_ms']} ms  "
          f"(CPU p50 {summary['cpu_p50_ms']} ms  p95 {summary['cpu_p95_ms']} ms)  "
          f"statements {summary['queries_min']}–{summary['queries_max']}  "
          f"round trips {summary['round_trips_min']}–{summary['round_trips_max']}  (n={len(timings)})", flush=True)
    for ms, n, sent in bursts:
        print(f"  an evaluation that changed alerts or notified {sent}: {ms} ms, {n} statements", flush=True)
    print(f"  a host without the lease: {other_ms:.1f} ms, {other_queries} query", flush=True)
    print(json.dumps(summary), file=sys.stderr)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="postgres")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=3_000_000)
    parser.add_argument("--busy", type=int, default=42_000, help="runs finished in the last 10 minutes")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--every", type=float, default=1.0, help="seconds between evaluations")
    parser.add_argument("--reuse", action="store_true", help="measure the existing seeded database")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.repeat, args.every, args.busy)
        return
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        if not args.reuse:
            prepare(db, args.runs, args.attempts)
        print(f"[{db}] evaluating …", flush=True)
        out = subprocess.run([sys.executable, "-m", "bench.alerts", "--measure", "--repeat", str(args.repeat),
                              "--every", str(args.every), "--busy", str(args.busy)],
                             cwd=ROOT, env=db_env(db), check=True, stderr=subprocess.PIPE, text=True)
        summary = json.loads(out.stderr.strip().splitlines()[-1])
        print(f"[{db}] {summary['runs']:,} runs, {summary['open_dead_letters']:,} open dead letters, "
              f"{summary['firing']} alerts firing; p95 {summary['p95_ms']} ms (target ≤ 50 ms on PostgreSQL)\n")
        results_dir = ROOT / "bench" / "results"
        results_dir.mkdir(exist_ok=True)
        (results_dir / f"alerts-{db}.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
