"""Flow control: a concurrency-limited task's throughput and slot reuse, and the idle cost of
held runs.

    .venv/bin/python -m bench.flow                    # SQLite + ORM broker
    .venv/bin/python -m bench.flow --db postgres      # PostgreSQL + Redis (redis://127.0.0.1:6379/10)

*Limited drain*: ``--runs`` ``taskboard.demo.per_user`` runs of one user (limit 2) sleeping
0.1 s on one ``taskboard_worker`` with 4 worker processes; runs/s over the ideal 20/s.
*Slot reuse latency*: with starts and finishes sorted, start k used the slot freed by finish
k−2: ``started_at[k] − finished_at[k−2]``. *Idle cost*: ``--held`` runs held behind a
forced-open breaker and a paused queue, the worker idle; CPU seconds of its whole process
tree (and of the database server's processes on PostgreSQL are not included) over
``--idle-seconds``, as a share of one core. A throwaway database is migrated first; nothing is
asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench import databases
from bench.interrupts import ROOT


def start_worker(env: dict[str, str], name: str) -> Any:
    from taskboard.service import processes

    log = Path(f"/tmp/taskboard-bench-flow-{name}.log").open("wb")  # noqa: SIM115
    return processes.start([sys.executable, "manage.py", "taskboard_worker", "--grace", "3"],
                           cwd=ROOT, env={**env, "TASKBOARD_WORKERS": "4"}, stdout=log, stderr=subprocess.STDOUT)


def wait_ready(seconds: float = 30) -> None:
    from taskboard.models import WorkerNode

    deadline = time.monotonic() + seconds
    while not any((n.cluster_pids or {}).get("default") for n in WorkerNode.objects.filter(stopped_at=None)):
        if time.monotonic() > deadline:
            raise SystemExit("worker did not start")
        time.sleep(0.2)


def limited_drain(env: dict[str, str], runs: int) -> tuple[float, list[float], int]:
    from taskboard.demo import per_user
    from taskboard.models import TaskRun

    worker = start_worker(env, "drain")
    try:
        wait_ready()
        ids = [per_user.enqueue(user_id=1, seconds=0.1).id for _ in range(runs)]
        while TaskRun.objects.filter(pk__in=ids, status="succeeded").count() < runs:
            time.sleep(0.2)
    finally:
        worker.stop(10, term_group=False)
    rows = list(TaskRun.objects.filter(pk__in=ids).values_list("started_at", "finished_at"))
    retried = TaskRun.objects.filter(pk__in=ids, attempts__gt=1).count()
    starts = sorted(s for s, _ in rows if s is not None)
    finishes = sorted(f for _, f in rows if f is not None)
    rate = runs / (finishes[-1] - starts[0]).total_seconds()
    reuse = [(starts[k] - finishes[k - 2]).total_seconds() for k in range(2, runs)]
    return rate, reuse, retried


def idle_cost(env: dict[str, str], held: int, seconds: float) -> float:
    from django.utils import timezone

    from taskboard.flow import breakers, pauses
    from taskboard.models import Status, TaskRun

    breakers.force_open("demo-payments", actor="bench")
    pauses.pause("queue", "default", actor="bench")
    now = timezone.now()
    half = held // 2
    TaskRun.objects.bulk_create([
        TaskRun(task="taskboard.demo.charge", kwargs={"ok": True}, breaker="demo-payments", status=Status.HELD,
                hold_reason="breaker", hold_key="demo-payments", held_since=now) for _ in range(half)
    ] + [
        TaskRun(task="taskboard.demo.noop", status=Status.HELD, hold_reason="paused", hold_key="queue:default",
                held_since=now) for _ in range(held - half)
    ], batch_size=1000)
    worker = start_worker(env, "idle")
    try:
        wait_ready()
        time.sleep(5)  # start-up (imports, migrations check) is not idle time
        tree = [psutil.Process(worker.popen.pid)]
        tree += tree[0].children(recursive=True)

        def cpu() -> float:
            total = 0.0
            for proc in tree:
                try:
                    times = proc.cpu_times()
                    total += times.user + times.system
                except psutil.NoSuchProcess:
                    pass
            return total

        before = cpu()
        time.sleep(seconds)
        used = cpu() - before
    finally:
        worker.stop(10, term_group=False)
    return used / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--held", type=int, default=10_000)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--sqlite-path", default="/tmp/taskboard-bench-flow.sqlite3")
    parser.add_argument("--pg-db", default="taskboard_bench_flow", help="dropped and created")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10", help="purged")
    args = parser.parse_args()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_DEMO": "0",
           "TASKBOARD_BROKER_URL": args.redis_url if args.db == "postgres" else ""}
    env.update(databases.fresh(args.db, args.sqlite_path, args.pg_db))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    if args.db == "postgres":
        from taskboard.transport.push import broker_for

        broker_for("default").purge_queue()
    rate, reuse, retried = limited_drain(env, args.runs)
    quantiles = statistics.quantiles(reuse, n=20)
    print(f"[{args.db}] concurrency_limit=2, 0.1 s runs: {rate:.1f} runs/s ({rate / 20 * 100:.0f} % of 20/s)")
    print(f"[{args.db}] slot reuse latency p50 {statistics.median(reuse) * 1000:.0f} ms  "
          f"p95 {quantiles[18] * 1000:.0f} ms  max {max(reuse) * 1000:.0f} ms  (n={len(reuse)}; "
          f"runs with more than one attempt: {retried})")
    share = idle_cost(env, args.held, args.idle_seconds)
    print(f"[{args.db}] idle cluster with {args.held} held runs: {share * 100:.1f} % of a core")


if __name__ == "__main__":
    main()
