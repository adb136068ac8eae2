"""How fast a cancel or a timeout interrupts a blocked handler, and how late retries start.

    .venv/bin/python -m bench.interrupts                 # SQLite, 5 interrupts each, 20 retries
    .venv/bin/python -m bench.interrupts --db postgres --repeat 10 --retries 50

The speed limits the tests used to assert (cancel < 2 s, timeout < 3 s, retry lateness
<= 1 s) are measured here instead; nothing is asserted. A throwaway database is migrated
first. Cancel and timeout run in this process through ``runner.execute`` (the handler blocks
in ``time.sleep``; the monitor thread interrupts it with SIGUSR1): *cancel* is the time from
``operations.cancel`` to ``execute`` returning, *timeout* the time from the deadline to
``execute`` returning. *Retry lateness* runs ``bench.tasks.fail_once`` on a real
``taskboard_worker``: attempt 2's ``started_at`` minus the ``retry_at`` attempt 1 recorded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench import databases

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = "/tmp/taskboard-bench-interrupts.sqlite3"
PG_NAME = "taskboard_bench_interrupts"


def db_env(db: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_DEMO": "0",
           "TASKBOARD_BROKER_URL": ""}
    env.update(databases.fresh(db, SQLITE_PATH, PG_NAME))
    return env


def _sleep(context: Any, seconds: float) -> float:
    time.sleep(seconds)  # blocked: only the monitor's signal can stop it
    return seconds


def summary(values: list[float]) -> str:
    return (f"p50 {statistics.median(values) * 1000:7.1f} ms   max {max(values) * 1000:7.1f} ms"
            f"   (n={len(values)})")


def measure_interrupts(repeat: int) -> tuple[list[float], list[float]]:
    from django.tasks import task

    from taskboard import operations
    from taskboard.execution.runner import execute

    # Retry options pass through Django 6.1's ``@task(**kwargs)``, which django-stubs does not model.
    sleeper = task(takes_context=True, max_attempts=1)(_sleep)  # type: ignore[call-overload]
    timed = task(takes_context=True, max_attempts=1, timeout=1)(_sleep)  # type: ignore[call-overload]
    cancels, timeouts = [], []
    for _ in range(repeat):
        run_id = sleeper.enqueue(seconds=60).id
        asked: list[float] = []

        def cancel(run_id: str = run_id, asked: list[float] = asked) -> None:
            time.sleep(0.3)
            asked.append(time.monotonic())
            operations.cancel(run_id)

        thread = threading.Thread(target=cancel)
        thread.start()
        execute(run_id)
        cancels.append(time.monotonic() - asked[0])
        thread.join()

        run_id = timed.enqueue(seconds=60).id
        began = time.monotonic()
        execute(run_id)
        timeouts.append(time.monotonic() - began - 1.0)
    return cancels, timeouts


def measure_retries(env: dict[str, str], count: int) -> list[float]:
    from bench.tasks import fail_once
    from taskboard.models import TaskAttempt, TaskRun
    from taskboard.service import processes

    ids = [fail_once.enqueue().id for _ in range(count)]
    log = Path("/tmp/taskboard-bench-interrupts-worker.log").open("wb")  # noqa: SIM115
    worker = processes.start([sys.executable, "manage.py", "taskboard_worker", "--grace", "3"],
                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60 + count
        while TaskRun.objects.filter(pk__in=ids, status="succeeded").count() < count:
            if time.monotonic() > deadline or not worker.alive():
                raise SystemExit(f"retries did not finish; see {log.name}")
            time.sleep(0.2)
    finally:
        worker.stop(10, term_group=False)
        log.close()
    lateness = []
    for run_id in ids:
        first, second = TaskAttempt.objects.filter(run_id=run_id).order_by("number")[:2]
        assert first.retry_at is not None
        lateness.append((second.started_at - first.retry_at).total_seconds())
    return lateness


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=5, help="cancels and timeouts each")
    parser.add_argument("--retries", type=int, default=20, help="runs retried once each")
    args = parser.parse_args()
    env = db_env(args.db)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    cancels, timeouts = measure_interrupts(args.repeat)
    print(f"[{args.db}] cancel → handler stopped    {summary(cancels)}")
    print(f"[{args.db}] deadline → handler stopped  {summary(timeouts)}")
    print(f"[{args.db}] retry lateness             {summary(measure_retries(env, args.retries))}")


if __name__ == "__main__":
    main()
