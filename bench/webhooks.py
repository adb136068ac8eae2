"""Drain throughput with one webhook subscriber to every run event, against none.

    .venv/bin/python -m bench.webhooks                       # SQLite + ORM broker
    .venv/bin/python -m bench.webhooks --db postgres         # PostgreSQL + Redis (db 14)
    .venv/bin/python -m bench.webhooks --db postgres --pg-db NAME --redis-url redis://…/N

A throwaway database is migrated. Then, ``--rounds`` times each and interleaved (none, one,
none, one …): ``--n`` ``taskboard.demo.noop`` runs are enqueued with no worker running, a
``taskboard_worker`` with ``--workers`` processes drains them, and the drain rate is the runs
over the span from the first start to the last finish (their own timestamps: the worker's
start-up is not counted). With a subscriber, every run's ``run.enqueued``, ``run.started`` and
``run.succeeded`` go to an HTTP receiver in this process (signatures verified on a sample);
the delivery runs execute on the same workers during the drain, so their cost is in the
figure. Alert evaluation is off in both. Nothing is asserted.

Beside the rate, each round reports CPU seconds (``bench.cputime``): of the worker's processes
up to the drain's end and up to the last event's arrival (the deliveries after the drain), of
this database's PostgreSQL backends, and of this process — the receiver (and the polling,
the same in both) runs here, on the same cores as the worker, so its cost is shown apart.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import databases
from bench.cputime import Meter

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = "/tmp/taskboard-bench-webhooks.sqlite3"
PG_NAME = "taskboard_bench_webhooks"
REDIS = "redis://127.0.0.1:6379/14"


class Receiver:
    """Counts the events it is sent; verifies every tenth message's signature. ``cpu``: the
    CPU seconds its request threads used (reading, verifying, parsing, answering)."""

    def __init__(self) -> None:
        self.events = 0
        self.messages = 0
        self.bad = 0
        self.cpu = 0.0
        self.secret = ""
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def handle(self) -> None:
                started = time.thread_time()  # one thread per connection: all of it is this request's
                try:
                    super().handle()
                finally:
                    used = time.thread_time() - started
                    with receiver.lock:
                        receiver.cpu += used

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


def db_env(db: str, pg_name: str = PG_NAME, redis: str = REDIS) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_DEMO": "0",
           "TASKBOARD_ALERTS": '{"enabled": false}', "TASKBOARD_BROKER_URL": ""}
    env.update(databases.fresh(db, SQLITE_PATH, pg_name))
    if db == "postgres":
        env.update(TASKBOARD_BROKER_URL=redis)
    # One key for this process and every worker, also one of another checkout (--compare),
    # whose var/secret_key differs: the broker's messages are signed with it.
    env.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def drain(env: dict[str, str], n: int, workers: int, receiver: Receiver | None,
          root: Path = ROOT) -> tuple[float, dict[str, float]]:
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
    reaped = children_cpu()
    worker = processes.start([sys.executable, "manage.py", "taskboard_worker", "--grace", "3"], cwd=root,
                             env={**env, "TASKBOARD_WORKERS": str(workers)}, stdout=log, stderr=subprocess.STDOUT)
    meter = Meter(worker.pid, env.get("DATABASE_URL", "").startswith("postgres")).start()

    def totals() -> dict[str, float]:
        meter.sample()
        return meter.totals() | {"receiver": receiver.cpu if receiver is not None else 0.0}

    snapshots: list[dict[str, float]] = []  # at the first finished run, the last one, the last event
    try:
        while True:
            # Every noop run is this round's (the table was emptied): no list of ids to send.
            done = TaskRun.objects.filter(task="taskboard.demo.noop", status=Status.SUCCEEDED).count()
            if done and not snapshots:
                snapshots.append(totals())  # the worker's start-up is behind: its drain begins
            if done >= n:
                break
            meter.sample()
            time.sleep(0.2)
        snapshots.append(totals())
        if receiver is not None:  # not timed: the last second's events still go out
            deadline = time.monotonic() + 60
            while receiver.events < expected and time.monotonic() < deadline:
                meter.sample()
                time.sleep(0.2)
        snapshots.append(totals())
        if os.environ.get("BENCH_CPU_BY_PROCESS"):
            print("    worker CPU s by process: " + meter.by_process(), flush=True)
    finally:
        worker.stop(15, term_group=False)
        log.close()
    begin, end, after = snapshots
    cpu = {f"drain {part}": end[part] - begin[part] for part in end if part != "sessions"}
    cpu |= {f"tail {part}": after[part] - end[part] for part in ("worker", "receiver")}
    # Every process of the worker's group, reaped: start-up and shut-down included.
    cpu["reaped worker"] = children_cpu() - reaped
    cpu["sessions"] = after.get("sessions", 0.0)
    if receiver is not None and receiver.events < expected:
        from django.db.models import Count

        deliveries = dict(TaskRun.objects.filter(task="taskboard.notify.deliver").values_list("status")
                          .annotate(c=Count("pk")).values_list("status", "c"))
        print(f"  {expected - receiver.events} of {3 * n} events did not arrive; delivery runs: {deliveries}",
              flush=True)
    rows = TaskRun.objects.filter(pk__in=ids).values_list("started_at", "finished_at")
    first = min(s for s, _ in rows if s is not None)
    last = max(f for _, f in rows if f is not None)
    return n / (last - first).total_seconds(), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-db", default=PG_NAME, help="the throwaway PostgreSQL database (dropped, created)")
    parser.add_argument("--redis-url", default=REDIS, help="the Redis broker (its db is purged)")
    parser.add_argument("--compare", metavar="CHECKOUT", help="also drain with one subscriber on this "
                        "checkout's worker in every round (an A/B of the worker's code in one run)")
    args = parser.parse_args()
    env = db_env(args.db, args.pg_db, args.redis_url)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    import django

    django.setup()
    from taskboard.notify.config import new_webhook_secret

    receiver = Receiver()
    receiver.secret = new_webhook_secret()
    # Each round: none, one subscriber, and one subscriber with --compare's worker (A/B).
    variants = {"none": (ROOT, False), "one": (ROOT, True)}
    if args.compare:
        variants["one@compare"] = (Path(args.compare).resolve(), True)
    rates: dict[str, list[float]] = {name: [] for name in variants}
    cpus: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for round_number in range(args.rounds):
        for name, (root, subscribed) in variants.items():
            before = receiver.events
            rate, cpu = drain(env, args.n, args.workers, receiver if subscribed else None, root)
            rates[name].append(rate)
            cpus[name].append(cpu)
            sent = receiver.events - before
            print(f"[{args.db}] round {round_number + 1} {name:>11}: {rate:7.1f} runs/s"
                  + (f"  ({sent:,} events received)" if subscribed else "")
                  + f"  load {os.getloadavg()[0]:.2f}", flush=True)
            print("    CPU s: " + ", ".join(f"{part} {seconds:.2f}" for part, seconds in cpu.items()), flush=True)
    none = statistics.median(rates["none"])
    print(f"[{args.db}] median drain: none {none:.1f} runs/s {[round(r) for r in rates['none']]}; bad signatures: "
          f"{receiver.bad}")
    for name in list(variants)[1:]:
        one = statistics.median(rates[name])
        print(f"[{args.db}] median drain, {name}: {one:.1f} runs/s {[round(r) for r in rates[name]]}: "
              f"{(one / none - 1) * 100:+.1f} %")
        for part in cpus["none"][0]:
            a, b = (statistics.median(c[part] for c in cpus[key]) for key in ("none", name))
            paired = statistics.median(o[part] - z[part] for z, o in zip(cpus["none"], cpus[name], strict=True))
            print(f"[{args.db}] {name}: median CPU s, {part}: none {a:.2f}, {name} {b:.2f}; "
                  f"minus none, per round: {paired:+.2f}")
        # The subscriber's share of the drain's CPU: what it added (worker, database, receiver),
        # per round, over everything the drain without it used on these cores.
        added = [sum(o.get(f"drain {p}", 0.0) - z.get(f"drain {p}", 0.0) for p in ("worker", "postgres", "receiver"))
                 / sum(z.get(f"drain {p}", 0.0) for p in ("worker", "postgres", "bench"))
                 for z, o in zip(cpus["none"], cpus[name], strict=True)]
        print(f"[{args.db}] {name}: CPU added by the subscriber during the drain: median "
              f"{statistics.median(added) * 100:+.1f} % {[round(x * 100, 1) for x in added]}")
    if args.db == "postgres":
        databases.drop_postgres(args.pg_db)


if __name__ == "__main__":
    main()
