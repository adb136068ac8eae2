"""CPU per task, by part, while a worker drains no-op runs (issue 13's "what one task costs").

    .venv/bin/python -m bench.cpu_per_task [--db postgres|sqlite] [--mode live|prefilled]
                                           [--n 6000] [--rounds 2] [--workers 2]
    .venv/bin/python -m bench.cpu_per_task --contender celery [--n 6000] [--rounds 2]

Wall-clock drains on 2 shared cores move by ±10 % from run to run; CPU seconds per part move
much less, so a change of a few per cent shows. Each round starts ``taskboard_worker`` on a
fresh database (and an empty Redis db on PostgreSQL), lets it settle, then either enqueues N
no-op runs one by one from this process while it drains (``live``: the driver's own CPU is the
enqueue's) or writes them with ``enqueue_many`` in one transaction (``prefilled``). It waits
until all N succeeded and prints, per task: the CPU of each process of the worker's group
(django-q2 names them: workers, pusher, monitor), of this database's PostgreSQL backends (on
PostgreSQL; this process's own backend included in ``live``, its enqueue's server side), of
``redis-server`` and of this process, and the drain rate (N / time to the last success).

``--contender celery`` measures the same for Celery as ``bench.peers`` runs it (``live`` only:
Celery has no bulk enqueue; Redis broker, no result backend, ``--pool prefork --concurrency
W``; ``make bench-peers`` installs it): this process calls ``noop.delay(key)`` N times while the
worker drains, and the round ends when every task has written its start mark. Its no-op is
``bench.peers``' (one ``os.write`` of a mark), taskboard's is ``taskboard.demo.noop``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from bench import databases
from bench.cputime import Meter, cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = "/tmp/taskboard-bench-cpu.sqlite3"


def one_round(args: argparse.Namespace) -> dict[str, float]:
    import subprocess

    from django.db import connections

    from taskboard.bulk import call, enqueue_many
    from taskboard.demo import noop
    from taskboard.models import Status, TaskRun
    from taskboard.service import processes

    connections.close_all()
    databases.fresh(args.db, SQLITE_PATH, args.pg_db)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=os.environ, check=True)
    if args.db == "postgres":
        import redis

        redis.from_url(args.redis_url).flushdb()

    def produce(meter: Meter) -> None:
        if args.mode == "live":
            one_by_one(meter, args.n, lambda i: noop.enqueue())
            return
        from django.db import transaction

        with transaction.atomic():
            for start in range(0, args.n, 500):
                enqueue_many(noop, [call() for _ in range(min(500, args.n - start))])

    def finished() -> bool:
        return TaskRun.objects.filter(task="taskboard.demo.noop", status=Status.SUCCEEDED).count() >= args.n

    log = Path("/tmp/taskboard-bench-cpu-worker.log").open("wb")  # noqa: SIM115
    worker = processes.start([sys.executable, "manage.py", "taskboard_worker", "--grace", "3"], cwd=ROOT,
                             env={**os.environ, "TASKBOARD_WORKERS": str(args.workers)}, stdout=log,
                             stderr=subprocess.STDOUT)
    try:
        time.sleep(args.settle)  # start-up (imports, migrations check, first polls) is not counted
        return measured(Meter(worker.pid, args.db == "postgres"), args.n, produce, finished,
                        lambda pid: f"taskboard_worker: {_label(pid)}")
    finally:
        worker.stop(15, term_group=False)
        log.close()


def celery_round(args: argparse.Namespace) -> dict[str, float]:
    """One round of Celery (see the module's docstring): the same parts, by process."""
    import subprocess
    import tempfile

    import redis

    from bench.peers.contenders import require
    from bench.peers.marks import ENV
    from taskboard.service import processes

    require("celery")
    broker = redis.Redis.from_url(args.redis_url)
    broker.flushdb()
    marks = Path(tempfile.mkdtemp(prefix="taskboard-bench-cpu-")) / "marks.txt"
    env = {**os.environ, "BENCH_PEERS_CELERY_BROKER": args.redis_url, ENV: str(marks)}
    os.environ.update(env)  # this process's ``delay`` publishes to the same broker
    from bench.peers.celery_app import noop

    log = Path("/tmp/taskboard-bench-cpu-celery.log").open("wb")  # noqa: SIM115
    worker = processes.start([sys.executable, "-m", "celery", "-A", "bench.peers.celery_app", "worker",
                              "--pool", "prefork", "--concurrency", str(args.workers), "--loglevel", "WARNING",
                              "--hostname", f"bench-cpu-{os.getpid()}@%h"],
                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        time.sleep(args.settle)
        return measured(Meter(worker.pid, postgres=False), args.n,
                        lambda meter: one_by_one(meter, args.n, lambda i: noop.delay(str(i))),
                        lambda: _lines(marks) >= args.n,
                        lambda pid: "celery: main process" if pid == worker.pid else "celery: pool processes")
    finally:
        worker.stop(15, term_group=False)  # its warm shutdown stops the pool itself
        log.close()
        broker.flushdb()
        broker.close()


def one_by_one(meter: Meter, n: int, enqueue: Callable[[int], object]) -> None:
    """``enqueue(i)`` for i < n from this process, sampling the parts now and then (a process
    that exits during the round keeps its last sample)."""
    for i in range(n):
        enqueue(i)
        if i % 200 == 0:
            meter.sample()


def measured(meter: Meter, n: int, produce: Callable[[Meter], None], finished: Callable[[], bool],
             label: Callable[[int], str]) -> dict[str, float]:
    """CPU ms per task of each part while ``produce`` enqueues ``n`` tasks and the executors
    (``meter``'s process group, already settled) drain them, until ``finished()``; the parts
    named by ``label(pid)``, PostgreSQL's backends, ``redis-server`` and this process, and
    the drain rate (``n`` / time to the last task)."""
    redis_servers = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "redis-server"]
    redis_before = sum(cpu_seconds(p) for p in redis_servers)
    meter.start()
    meter.sample()
    before = dict(meter.seen)  # the group's CPU so far (start-up): subtracted
    began = time.monotonic()
    produce(meter)
    while not finished():
        meter.sample()
        time.sleep(0.05)
    seconds = time.monotonic() - began
    meter.sample()
    per_task = 1000 / n
    parts: dict[str, float] = {}
    for key, cpu in meter.seen.items():
        name = label(key[0])
        parts[name] = parts.get(name, 0.0) + (cpu - before.get(key, 0.0)) * per_task
    totals = meter.totals()
    if meter.postgres:
        parts["postgres"] = totals["postgres"] * per_task
    parts["redis-server"] = (sum(cpu_seconds(p) for p in redis_servers) - redis_before) * per_task
    parts["this process (driver)"] = totals["bench"] * per_task
    parts["everything"] = sum(parts.values())
    parts["drain runs/s"] = n / seconds
    return parts


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 16), b""))
    except FileNotFoundError:
        return 0


def _label(pid: int) -> str:
    """What a process of the worker's group is, from the title django-q2 gives it."""
    try:
        title = " ".join(psutil.Process(pid).cmdline())
    except psutil.Error:
        return "worker processes"  # recycled during the round: only workers are
    for word, label in (("pusher", "pusher"), ("monitor", "monitor"), ("MainProcess", "cluster main process"),
                        ("taskboard_worker", "supervisor and dispatcher"),
                        ("taskboard_cluster", "cluster main process")):
        if word in title:
            return label
    return "worker processes"


def report(round_: int, parts: dict[str, float]) -> None:
    rate = parts.pop("drain runs/s")
    print(f"round {round_}: drain {rate:,.0f} runs/s, load average {os.getloadavg()[0]:.1f}")
    for name, ms in sorted(parts.items(), key=lambda p: (p[0] == "everything", -p[1])):
        if ms >= 0.0005:
            print(f"  {name:<40} {ms:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contender", choices=["taskboard", "celery"], default="taskboard")
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres", help="taskboard's")
    parser.add_argument("--mode", choices=["live", "prefilled"], default="live")
    parser.add_argument("--n", type=int, default=6000, help="no-op runs per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--settle", type=float, default=6.0, help="seconds before measuring")
    parser.add_argument("--pg-db", default="taskboard_bench_cpu", help="created, and dropped after the run")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12", help="flushed")
    args = parser.parse_args()
    if args.n < 1 or args.rounds < 1 or args.workers < 1 or args.settle < 0:
        parser.error("--n, --rounds and --workers must be positive, --settle not negative")
    if args.contender == "celery":
        if args.mode != "live":
            parser.error("--contender celery: only --mode live (Celery has no bulk enqueue)")
        print(f"celery, live, {args.n} no-op tasks, {args.workers} pool processes, "
              f"load average {os.getloadavg()[0]:.1f}; CPU ms per task:", flush=True)
        for round_ in range(1, args.rounds + 1):
            report(round_, celery_round(args))
        return
    os.environ.update(DJANGO_SETTINGS_MODULE="taskboard.settings", TASKBOARD_DEMO="0",
                      TASKBOARD_ALERTS='{"enabled": false}', LOG_LEVEL="WARNING")
    os.environ.update(databases.fresh(args.db, SQLITE_PATH, args.pg_db))
    os.environ["TASKBOARD_BROKER_URL"] = args.redis_url if args.db == "postgres" else ""
    import django

    django.setup()
    print(f"{args.db}, {args.mode}, {args.n} no-op runs, {args.workers} workers, "
          f"load average {os.getloadavg()[0]:.1f}; CPU ms per task:", flush=True)
    try:
        for round_ in range(1, args.rounds + 1):
            report(round_, one_round(args))
    finally:
        databases.drop(args.db, SQLITE_PATH, args.pg_db)


if __name__ == "__main__":
    main()
