"""Schedule lateness: how long after its fire time a schedule's run is enqueued (and started),
with several hosts running the clock.

    .venv/bin/python -m bench.schedules                      # SQLite + ORM broker, 2 hosts, 60 s
    .venv/bin/python -m bench.schedules --db postgres --redis-url redis://127.0.0.1:6379/13

A throwaway database is migrated, ``--hosts`` real ``taskboard_worker`` processes are started,
then ``--schedules`` every-1-second schedules of ``taskboard.demo.noop`` and one
``* * * * *`` cron schedule are added. After ``--warmup`` seconds (a schedule added at run time
may wait up to one clock tick for its first fire), every fire time of the next ``--seconds``
is measured: *enqueue lateness* is the run's ``enqueued_at`` minus the fire time (what the
clock adds), *start lateness* its ``started_at`` minus the fire time (plus the broker and a
worker). Duplicates (a schedule's run that no fire row accounts for: a second run for one fire
time) and gaps (a missing fire time) are counted; both must be 0. Nothing is asserted: the
figures go to the README.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from bench import databases

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = "/tmp/taskboard-bench-schedules.sqlite3"
PG_NAME = "taskboard_bench_schedules"


def db_env(db: str, redis_url: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_DEMO": "0",
           "TASKBOARD_RETENTION_DAYS": "0", "TASKBOARD_BROKER_URL": ""}
    env.update(databases.fresh(db, SQLITE_PATH, PG_NAME))
    if db == "postgres":
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        env.update(TASKBOARD_BROKER_URL=redis_url)
    return env


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:<22} no samples"
    ms = [v * 1000 for v in values]
    return (f"{name:<22} p50 {statistics.median(ms):7.1f} ms   p95 {percentile(ms, 0.95):7.1f} ms"
            f"   max {max(ms):7.1f} ms   (n={len(ms)})")


def measure(env: dict[str, str], hosts: int, schedules: int, warmup: float, seconds: float) -> None:
    from taskboard import operations
    from taskboard.models import Schedule, ScheduleFire, TaskRun
    from taskboard.service import processes

    logs, workers = [], []
    for index in range(hosts):
        log = Path(f"/tmp/taskboard-bench-schedules-worker-{index}.log").open("wb")  # noqa: SIM115
        logs.append(log)
        workers.append(processes.start([sys.executable, "manage.py", "taskboard_worker", "--grace", "3"],
                                       cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        time.sleep(3)  # the clusters start
        for index in range(schedules):
            operations.add_schedule(f"every-second-{index}", "taskboard.demo.noop", every=1)
        operations.add_schedule("every-minute", "taskboard.demo.noop", cron="* * * * *")
        time.sleep(warmup)
        from django.utils import timezone

        began = timezone.now()
        time.sleep(seconds)
        ended = timezone.now()
        for schedule in Schedule.objects.all():
            operations.pause_schedule(schedule.name)
        deadline = time.monotonic() + 30
        window = ScheduleFire.objects.filter(fire_at__gte=began, fire_at__lt=ended)
        while TaskRun.objects.filter(pk__in=window.values("run_id"), started_at__isnull=True).exists():
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.stop(10, term_group=False)
        for log in logs:
            log.close()
    fires = list(window.select_related("run", "schedule"))
    enqueue = [(f.run.enqueued_at - f.fire_at).total_seconds() for f in fires if f.run]
    start = [(f.run.started_at - f.fire_at).total_seconds() for f in fires if f.run and f.run.started_at]
    gaps = 0
    for schedule in Schedule.objects.filter(every=1):
        times = sorted(f.fire_at for f in fires if f.schedule_id == schedule.pk)
        gaps += sum(round((b - a) / timedelta(seconds=1)) - 1 for a, b in zip(times, times[1:], strict=False))
    # A run of a schedule that no fire row accounts for would be a second run for a fire time.
    duplicates = TaskRun.objects.exclude(schedule="").exclude(
        pk__in=ScheduleFire.objects.filter(run__isnull=False).values("run_id")).count()
    hosts_seen = len({f.fired_by for f in fires})
    print(f"{len(fires)} fire times over {seconds:g} s from {hosts} hosts ({hosts_seen} fired); "
          f"duplicates {duplicates}, gaps {gaps}")
    print(summary("fire → enqueued", enqueue))
    print(summary("fire → started", start))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="postgres: the broker (flushed)")
    parser.add_argument("--hosts", type=int, default=2, help="taskboard_worker processes running the clock")
    parser.add_argument("--schedules", type=int, default=5, help="every-1-second schedules")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    env = db_env(args.db, args.redis_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    print(f"[{args.db}]", end=" ")
    measure(env, args.hosts, args.schedules, args.warmup, args.seconds)


if __name__ == "__main__":
    main()
