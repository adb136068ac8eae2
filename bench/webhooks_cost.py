"""Where a webhook subscriber's cost goes on the worker's side, in CPU time of one thread.

    .venv/bin/python -m bench.webhooks_cost --db postgres --pg-db NAME [--profile]

In this process, on a throwaway database, with one subscriber to every event (an HTTP
receiver on another thread of this process, so its work is not counted):

* publish: ``task_started`` and ``task_finished`` sent for ``--n`` runs (the worker's path)
  with the lifecycle receivers connected, with no subscriber and with one;
* flush: the hub's flush of ``--n`` runs' events (``run.started``, ``run.succeeded``) into
  messages of up to 1,000 events and their delivery runs (one transaction);
* deliver: each delivery run executed as a worker executes it (claim, send, record).

Figures are ``time.thread_time`` of this thread (deterministic enough to compare code, unlike
wall-clock rates on shared cores), and statement counts. ``--profile`` prints the top of a
``cProfile`` of each step.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from bench import databases

ROOT = Path(__file__).resolve().parent.parent


def measure(name: str, work: Callable[[], Any], per: int, profile: bool) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    profiler = cProfile.Profile() if profile else None
    with CaptureQueriesContext(connection) as queries:
        started = time.thread_time()
        if profiler:
            profiler.enable()
        work()
        if profiler:
            profiler.disable()
        used = time.thread_time() - started
    print(f"{name:<34} {used * 1000:9.1f} ms CPU  {used / per * 1e6:8.1f} µs per event  "
          f"{len(queries):4d} statements", flush=True)
    if profiler:
        pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "tottime")).print_stats(14)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--pg-db", default="taskboard_bench_webhooks_cost")
    parser.add_argument("--n", type=int, default=3000, help="runs (two events each on the worker's path)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_DEMO": "0",
           "TASKBOARD_ALERTS": '{"enabled": false}', "TASKBOARD_BROKER_URL": "",
           "TASKBOARD_WEBHOOK_FLUSH_SECONDS": "3600"}  # the hub's own thread never flushes here
    env.update(databases.fresh(args.db, "/tmp/taskboard-bench-webhooks-cost.sqlite3", args.pg_db))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    from django.tasks.signals import task_finished, task_started

    from bench.webhooks import Receiver
    from taskboard.backends import TaskboardBackend
    from taskboard.bulk import enqueue_many
    from taskboard.demo import noop
    from taskboard.execution.runner import execute
    from taskboard.models import Status, TaskRun, WebhookSubscription
    from taskboard.notify import lifecycle
    from taskboard.notify.config import new_webhook_secret

    ids = enqueue_many(noop, [{}] * args.n).ids
    runs = list(TaskRun.objects.filter(pk__in=ids))
    for run in runs:  # as the worker has them: claimed, then succeeded
        run.status, run.attempts, run.worker = Status.RUNNING, 1, "bench"
    backend = cast(TaskboardBackend, noop.get_backend())
    started = [backend.to_result(run, noop, []) for run in runs]
    for run in runs:
        run.status = Status.SUCCEEDED
    finished = [backend.to_result(run, noop, []) for run in runs]

    def publish() -> None:
        for a, b in zip(started, finished, strict=True):
            task_started.send(TaskboardBackend, task_result=a)
            task_finished.send(TaskboardBackend, task_result=b)

    receiver = Receiver()
    receiver.secret = new_webhook_secret()
    hub = lifecycle.hub()
    hub.refresh()
    measure("publish, no subscriber", publish, 2 * args.n, args.profile)
    WebhookSubscription.objects.create(url=receiver.url, secret=receiver.secret,
                                       events=["run.started", "run.succeeded"])
    hub.refresh()
    measure("publish, one subscriber", publish, 2 * args.n, args.profile)
    measure("flush", hub.flush, 2 * args.n, args.profile)
    deliveries = [str(pk) for pk in TaskRun.objects.filter(task=lifecycle.DELIVER).values_list("pk", flat=True)]

    def deliver() -> None:
        for pk in deliveries:
            execute(pk)

    measure(f"deliver ({len(deliveries)} runs)", deliver, 2 * args.n, args.profile)
    delivered = TaskRun.objects.filter(task=lifecycle.DELIVER, status=Status.SUCCEEDED).count()
    print(f"{delivered} of {len(deliveries)} delivery runs succeeded; {receiver.events} events received, "
          f"{receiver.bad} bad signatures")
    if args.db == "postgres":
        databases.drop_postgres(args.pg_db)


if __name__ == "__main__":
    main()
