"""Drain throughput with one webhook subscriber to every run event, against none.

    .venv/bin/python -m bench.webhooks                       # SQLite + ORM broker
    .venv/bin/python -m bench.webhooks --db postgres         # PostgreSQL + Redis (db 14)

A throwaway database is migrated. Then, ``--rounds`` times each and interleaved (none, one,
none, one …): ``--n`` ``taskboard.demo.noop`` runs are enqueued with no worker running, a
``taskboard_worker`` with ``--workers`` processes drains them, and the drain rate is the runs
over the span from the first start to the last finish (their own timestamps: the worker's
start-up is not counted). With a subscriber, every run's ``run.enqueued``, ``run.started`` and
``run.succeeded`` go to an HTTP receiver in this process (signatures verified on a sample);
the delivery runs execute on the same workers during the drain, so their cost is in the
figure. Alert evaluation is off in both. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import databases

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = "/tmp/taskboard-bench-webhooks.sqlite3"
PG_NAME = "taskboard_bench_webhooks"
REDIS = "redis://127.0.0.1:6379/14"


class Receiver:
    """Counts the events it is sent; verifies every tenth message's signature."""

    def __init__(self) -> None:
        self.events = 0
        self.messages = 0
        self.bad = 0
        self.secret = ""
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                import json

                from standardwebhooks import Webhook, WebhookVerificationError

                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.messages += 1
                    check = receiver.messages % 10 == 1
                if check:
                    try:
                        Webhook(receiver.secret).verify(body, {k.lower(): v for k, v in self.headers.items()})
                    except WebhookVerificationError:
                        with receiver.lock:
                            receiver.bad += 1
                events = len(json.loads(body)["data"]["events"])
                with receiver.lock:
                    receiver.events += events
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/events"


def db_env(db: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_DEMO": "0",
           "TASKBOARD_ALERTS": '{"enabled": false}', "TASKBOARD_BROKER_URL": ""}
    env.update(databases.fresh(db, SQLITE_PATH, PG_NAME))
    if db == "postgres":
        env.update(TASKBOARD_BROKER_URL=REDIS)
    return env


def drain(env: dict[str, str], n: int, workers: int, receiver: Receiver | None) -> float:
    expected = receiver.events + 3 * n if receiver is not None else 0
    from taskboard.bulk import enqueue_many
    from taskboard.demo import noop
    from taskboard.models import Status, TaskRun, WebhookSubscription, WorkerNode
    from taskboard.notify import lifecycle
    from taskboard.service import processes
    from taskboard.transport.push import broker_for

    TaskRun.objects.all().delete()
    WebhookSubscription.objects.all().delete()
    WorkerNode.objects.all().delete()
    broker_for("default").purge_queue()
    if receiver is not None:
        sub = WebhookSubscription.objects.create(url=receiver.url, secret=receiver.secret)
        assert sub.pk
    lifecycle.hub().refresh()  # this process publishes run.enqueued from now on
    ids = enqueue_many(noop, [{}] * n).ids
    lifecycle.hub().flush()
    log = Path("/tmp/taskboard-bench-webhooks-worker.log").open("wb")  # noqa: SIM115
    worker = processes.start([sys.executable, "manage.py", "taskboard_worker", "--grace", "3"], cwd=ROOT,
                             env={**env, "TASKBOARD_WORKERS": str(workers)}, stdout=log, stderr=subprocess.STDOUT)
    try:
        while TaskRun.objects.filter(pk__in=ids, status=Status.SUCCEEDED).count() < n:
            time.sleep(0.2)
        if receiver is not None:  # not timed: the last second's events still go out
            deadline = time.monotonic() + 60
            while receiver.events < expected and time.monotonic() < deadline:
                time.sleep(0.2)
    finally:
        worker.stop(15, term_group=False)
        log.close()
    if receiver is not None and receiver.events < expected:
        from django.db.models import Count

        deliveries = dict(TaskRun.objects.filter(task="taskboard.notify.deliver").values_list("status")
                          .annotate(c=Count("pk")).values_list("status", "c"))
        print(f"  {expected - receiver.events} of {3 * n} events did not arrive; delivery runs: {deliveries}",
              flush=True)
    rows = TaskRun.objects.filter(pk__in=ids).values_list("started_at", "finished_at")
    first = min(s for s, _ in rows if s is not None)
    last = max(f for _, f in rows if f is not None)
    return n / (last - first).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = db_env(args.db)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    from taskboard.notify.config import new_webhook_secret

    receiver = Receiver()
    receiver.secret = new_webhook_secret()
    rates: dict[str, list[float]] = {"none": [], "one": []}
    for round_number in range(args.rounds):
        for name in ("none", "one"):
            before = receiver.events
            rate = drain(env, args.n, args.workers, receiver if name == "one" else None)
            rates[name].append(rate)
            sent = receiver.events - before
            print(f"[{args.db}] round {round_number + 1} {name:>4} subscriber: {rate:7.1f} runs/s"
                  + (f"  ({sent:,} events received)" if name == "one" else ""), flush=True)
    none, one = statistics.median(rates["none"]), statistics.median(rates["one"])
    print(f"[{args.db}] median drain: none {none:.1f} runs/s {[round(r) for r in rates['none']]}, "
          f"one subscriber {one:.1f} runs/s {[round(r) for r in rates['one']]}: {(one / none - 1) * 100:+.1f} %; "
          f"bad signatures: {receiver.bad}")


if __name__ == "__main__":
    main()
