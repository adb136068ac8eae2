"""Seed a realistic history of runs and attempts, fast (bulk inserts, one transaction per batch).

    .venv/bin/python -m bench.seed --runs 1000000 --attempts 3000000

Uses whatever database the settings point at (``DATABASE_URL`` / ``TASKBOARD_SQLITE_PATH``);
meant for a throwaway database. The mix: a dozen task names, ~90 % succeeded, failures with
templated messages (so the Failures page has realistic fingerprint groups), dead letters for the
failed runs, timestamps over the last 30 days with more recent days denser.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import django

TASKS = [
    ("billing.tasks.sync_invoices", 18), ("billing.tasks.charge_card", 12),
    ("emails.tasks.send_receipt", 25), ("emails.tasks.send_digest", 8),
    ("search.tasks.reindex_document", 14), ("reports.tasks.build_monthly_report", 2),
    ("media.tasks.transcode_video", 3), ("media.tasks.thumbnail", 9),
    ("crm.tasks.push_contact", 4), ("crm.tasks.pull_updates", 2),
    ("taskboard.demo.steps", 1), ("taskboard.demo.flaky", 2),
]
ERRORS = [
    ("builtins.ConnectionError", "connection reset by peer while talking to 10.0.{a}.{b}:5432", "retryable"),
    ("builtins.TimeoutError", "upstream took {a}s to answer (limit 30s)", "retryable"),
    ("requests.exceptions.HTTPError", "502 Server Error: Bad Gateway for url: https://api.stripe.test/v1/charges/{id}",
     "retryable"),
    ("billing.errors.CardDeclined", "card declined for order {a}{b}: 'insufficient_funds'", "permanent"),
    ("builtins.KeyError", "'customer_{a}'", "permanent"),
    ("builtins.ValueError", "invalid literal for int() with base 10: '{id}'", "permanent"),
    ("taskboard.exceptions.TaskTimedOut", "attempt {a} exceeded its timeout of 60s", "timeout"),
    ("taskboard.exceptions.WorkerLost", "worker web-{a}:{b}{a} stopped renewing its lease", "lost"),
    ("taskboard.exceptions.TaskCancelled", "cancelled by ops", "cancelled"),
]
STATUS_WEIGHTS = [("succeeded", 900), ("failed", 50), ("cancelled", 15), ("retrying", 10),
                  ("queued", 10), ("running", 5), ("scheduled", 10)]
MAX_RUNNING = 16
TRACEBACK = ('Traceback (most recent call last):\n  File "/srv/app/{task}.py", line {a}, in run\n'
             "    client.call(payload)\n{exc}: {message}\n")


def pick(weighted: list[tuple[str, int]], rng: random.Random) -> str:
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


def seed(runs: int, attempts: int, batch: int = 5000, days: int = 30, seed_value: int = 1) -> dict[str, float]:
    from django.db import connection, transaction

    from taskboard.models import DeadLetter, TaskAttempt, TaskRun

    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    extra_attempts = max(0, attempts - runs)  # every run gets one; spread the rest
    run_table, attempt_table, dl_table = (TaskRun._meta.db_table, TaskAttempt._meta.db_table,
                                          DeadLetter._meta.db_table)
    run_cols = ["id", "task", "queue", "priority", "status", "args", "kwargs", "result", "attempts",
                "max_attempts", "backoff", "timeout", "progress", "progress_message", "checkpoint",
                "cancel_requested", "cancel_requested_by", "last_error", "enqueued_at", "run_after",
                "dispatched_at", "started_at", "claimed_at", "finished_at", "heartbeat_at",
                "lease_expires_at", "worker", "replay_of_id", "idempotency_key"]
    att_cols = ["run_id", "task", "number", "outcome", "exception", "message", "traceback",
                "fingerprint", "started_at", "finished_at", "worker", "retry_at"]
    dl_cols = ["run_id", "task", "reason", "created_at", "resolved_at", "resolution",
               "resolved_by_id", "resolved_by_name", "replay_run_id", "fingerprint"]

    # Columns added to the models since these lists were written get their defaults, so the
    # seed keeps working as the schema grows (NOT NULL columns have no database default).
    def defaults(model: Any, cols: list[str]) -> tuple[list[str], list[Any]]:
        extra = [f for f in model._meta.concrete_fields
                 if f.column not in cols and not f.primary_key and f.has_default()]
        return [f.column for f in extra], [f.get_db_prep_save(f.get_default(), connection) for f in extra]

    run_extra, run_fill = defaults(TaskRun, run_cols)
    att_extra, att_fill = defaults(TaskAttempt, att_cols)
    dl_extra, dl_fill = defaults(DeadLetter, dl_cols)
    run_cols, att_cols, dl_cols = run_cols + run_extra, att_cols + att_extra, dl_cols + dl_extra

    def sql(table: str, cols: list[str]) -> str:
        marks = ", ".join(["%s"] * len(cols))
        return f'INSERT INTO {table} ({", ".join(cols)}) VALUES ({marks})'

    from taskboard.models import fingerprint

    is_pg = connection.vendor == "postgresql"

    def value(v: Any) -> Any:
        if isinstance(v, uuid.UUID):
            return v if is_pg else v.hex
        return v

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # A throwaway database: trade durability for speed, and keep the indexes in memory.
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-1000000")
    started = time.perf_counter()
    made_runs = made_attempts = made_letters = running_made = 0
    per_run_extra = extra_attempts / runs if runs else 0
    while made_runs < runs:
        n = min(batch, runs - made_runs)
        run_rows, att_rows, dl_rows = [], [], []
        for _ in range(n):
            run_id = uuid.uuid4()
            task = pick(TASKS, rng)
            status = pick(STATUS_WEIGHTS, rng)
            if status == "running":
                # A pool runs a handful at a time; the rest of that weight is history.
                if running_made >= MAX_RUNNING:
                    status = "succeeded"
                else:
                    running_made += 1
            # Recent days are denser: age ~ days * u^2.
            age = timedelta(seconds=days * 86400 * rng.random() ** 2)
            enqueued = now - age
            wait = timedelta(milliseconds=rng.expovariate(1 / 400))
            # 1 + a geometric number of extra attempts, so the mean hits --attempts; waiting
            # runs have none (2 % of runs, compensated by the 1.02 factor).
            k = 1 + min(int(rng.expovariate(1 / (per_run_extra * 1.02 + 0.5))), 9) if per_run_extra else 1
            if status in ("queued", "scheduled"):
                k = 0
            run_args = {"account_id": rng.randint(1, 50_000), "note": f"batch {rng.randint(1, 999)}"}
            t = enqueued + wait
            last_error = last_fingerprint = ""
            finished = None
            for number in range(1, k + 1):
                duration = timedelta(milliseconds=rng.expovariate(1 / 250))
                final = number == k
                if final and status == "succeeded":
                    outcome, exc, message = "succeeded", "", ""
                elif final and status == "running":
                    break  # the attempt in progress has no row yet
                else:
                    exc, template, outcome = rng.choice(ERRORS)
                    if final and status == "cancelled":
                        exc, template, outcome = ERRORS[-1]
                    message = template.format(a=rng.randint(1, 99), b=rng.randint(1, 9),
                                              id=uuid.UUID(int=rng.getrandbits(128)).hex[:12])
                    last_error = f"{exc.rsplit('.', 1)[-1]}: {message}"[:500]
                retry_at = t + duration + timedelta(seconds=2 ** number) if not final else None
                last_fingerprint = fingerprint(task, exc, message) if exc else ""
                att_rows.append([run_id, task, number, outcome, exc, message,
                                 TRACEBACK.format(task=task, a=number * 7, exc=exc, message=message) if exc else "",
                                 last_fingerprint, t, t + duration,
                                 f"worker-{rng.randint(1, 6)}:{rng.randint(1000, 9999)}", retry_at, *att_fill])
                finished = t + duration
                t = (retry_at or t + duration)
            done = status in ("succeeded", "failed", "cancelled")
            run_rows.append([
                run_id, task, "default", 0, status, json.dumps([]), json.dumps(run_args),
                json.dumps({"ok": True}) if status == "succeeded" else None, k, 5,
                json.dumps({"base": 1, "factor": 2, "max_delay": 300, "jitter": 1}), None,
                100 if status == "succeeded" else rng.randint(0, 99) if status == "running" else 0,
                "", None, status == "cancelled", "ops" if status == "cancelled" else "", last_error,
                enqueued, t if status in ("retrying", "scheduled") else None, enqueued,
                enqueued + wait if k else None, enqueued + wait if k else None,
                (finished or t) if done else None, None,
                now + timedelta(seconds=15) if status == "running" else None,
                f"worker-{rng.randint(1, 6)}:{rng.randint(1000, 9999)}" if k else "", None, None, *run_fill,
            ])
            if status == "failed":
                resolved = rng.random() < 0.3
                dl_rows.append([run_id, task, f"gave up: {last_error}", (finished or t),
                                (finished or t) + timedelta(hours=1) if resolved else None,
                                "discarded" if resolved else "", None, "ops" if resolved else "", None,
                                last_fingerprint, *dl_fill])
        with transaction.atomic():
            with connection.cursor() as cursor:
                if is_pg:
                    # COPY is an order of magnitude faster than INSERTs on PostgreSQL.
                    raw = cursor.cursor
                    for table, cols, rows in ((run_table, run_cols, run_rows), (attempt_table, att_cols, att_rows),
                                              (dl_table, dl_cols, dl_rows)):
                        with raw.copy(f'COPY {table} ({", ".join(cols)}) FROM STDIN') as copy:
                            for row in rows:
                                copy.write_row(row)
                else:
                    cursor.executemany(sql(run_table, run_cols), [[value(v) for v in r] for r in run_rows])
                    cursor.executemany(sql(attempt_table, att_cols), [[value(v) for v in r] for r in att_rows])
                    if dl_rows:
                        cursor.executemany(sql(dl_table, dl_cols), [[value(v) for v in r] for r in dl_rows])
        made_runs += n
        made_attempts += len(att_rows)
        made_letters += len(dl_rows)
        if made_runs % (batch * 20) == 0 or made_runs == runs:
            print(f"  {made_runs:>9,} runs  {made_attempts:>10,} attempts  {made_letters:>7,} dead letters"
                  f"  {time.perf_counter() - started:6.1f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"runs": made_runs, "attempts": made_attempts, "dead_letters": made_letters,
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=3_000_000)
    parser.add_argument("--batch", type=int, default=5000)
    args = parser.parse_args()
    if args.runs < 1 or args.attempts < args.runs:
        parser.error("--runs must be >= 1 and --attempts >= --runs")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskboard.settings")
    os.environ.setdefault("TASKBOARD_DEMO", "0")
    django.setup()
    print(seed(args.runs, args.attempts, args.batch))


if __name__ == "__main__":
    main()
