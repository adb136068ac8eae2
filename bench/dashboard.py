"""Server time of every dashboard page and fragment at 1,000,000 runs / 3,000,000 attempts.

    .venv/bin/python -m bench.dashboard                  # SQLite and PostgreSQL, seeding both
    .venv/bin/python -m bench.dashboard --db postgres --reuse   # re-measure an already seeded DB

Each configuration gets a throwaway database (``/tmp/taskboard-bench-dash.sqlite3``,
PostgreSQL ``taskboard_bench_dash``), migrated and seeded by ``bench.seed``; then every page is
requested ``--repeat`` times in-process through Django's test client as a superuser and p50/p95
of the view's wall time reported with the number of SQL queries — the steady state of a
dashboard that polls (short-lived aggregates are cached for 15 s). The first request after a
cache flush is reported separately as ``cold``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import databases

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = "/tmp/taskboard-bench-dash.sqlite3"
PG_NAME = "taskboard_bench_dash"


def db_env(db: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_DEMO": "0",
           "ALLOWED_HOSTS": "testserver", "TASKBOARD_BROKER_URL": ""}
    if db == "sqlite":
        env.update(DATABASE_URL="", TASKBOARD_SQLITE_PATH=SQLITE_PATH)
    else:
        env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{PG_NAME}")
    return env


def prepare(db: str, runs: int, attempts: int) -> None:
    seed_fresh_database(db, db_env(db), SQLITE_PATH, PG_NAME, runs, attempts)


def seed_fresh_database(db: str, env: dict[str, str], sqlite_path: str, pg_name: str, runs: int,
                        attempts: int) -> None:
    """A new database (the SQLite file or the PostgreSQL database dropped first), migrated and
    seeded by ``bench.seed`` in subprocesses with ``env``; also used by ``bench.alerts``."""
    databases.fresh(db, sqlite_path, pg_name)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    print(f"[{db}] seeding {runs:,} runs / {attempts:,} attempts …", flush=True)
    subprocess.run([sys.executable, "-m", "bench.seed", "--runs", str(runs), "--attempts", str(attempts)],
                   cwd=ROOT, env=env, check=True)


def measure(repeat: int) -> list[dict[str, Any]]:
    """Runs inside a subprocess configured for one database."""
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from taskboard.models import DeadLetter, Status, TaskAttempt, TaskRun
    from taskboard.readmodels.paging import Cursor

    user, _ = User.objects.get_or_create(username="bench", defaults={"is_staff": True, "is_superuser": True})
    client = Client()
    client.force_login(user)

    total = TaskRun.objects.count()
    deep = TaskRun.objects.order_by("-enqueued_at", "-id").values("enqueued_at", "id")[total // 2]
    deep_cursor = Cursor(deep["enqueued_at"], str(deep["id"])).encode()
    failed = (TaskRun.objects.filter(status=Status.FAILED, attempts__gte=3)
              .order_by("-enqueued_at").first())
    fingerprint = (TaskAttempt.objects.exclude(fingerprint="").order_by("-finished_at")
                   .values_list("fingerprint", flat=True).first())
    if failed is None:
        raise SystemExit("bench.dashboard: the database holds no failed run; seed it first (bench.seed)")
    some_arg = str((failed.kwargs or {}).get("account_id", "42"))

    pages: list[tuple[str, str, dict[str, str]]] = [
        ("overview", "/dashboard/", {}),
        ("runs: first page", "/dashboard/runs/", {}),
        ("runs: deep page (row 500,000)", f"/dashboard/runs/?after={deep_cursor}", {}),
        ("runs: status=failed", "/dashboard/runs/?status=failed", {}),
        ("runs: task filter", "/dashboard/runs/?task=emails.tasks.send_receipt", {}),
        ("runs: text search (argument value)", f"/dashboard/runs/?q={some_arg}", {}),
        ("runs: last 1 h", "/dashboard/runs/?period=1h", {}),
        ("run detail", f"/dashboard/runs/{failed.pk}/", {}),
        ("run progress fragment", f"/dashboard/runs/{failed.pk}/progress/", {"HX-Request": "true"}),
        ("failures", "/dashboard/failures/", {}),
        ("failure group", f"/dashboard/failures/{fingerprint}/", {}),
        ("dead letters", "/dashboard/dead-letters/", {}),
        ("dead letters: resolved", "/dashboard/dead-letters/?state=resolved", {}),
        ("workers", "/dashboard/workers/", {}),
    ]
    # The overview's live fragments, found where the page asks for them.
    overview = client.get("/dashboard/").content.decode()
    for url in sorted(set(re.findall(r'hx-get="([^"]+)"', overview))):
        if url.startswith("/dashboard/panels/"):
            pages.append((f"overview fragment {url.split('/')[-2]}", url, {"HX-Request": "true"}))
    pages.append(("runs list fragment (htmx)", "/dashboard/runs/", {"HX-Request": "true"}))

    results = []
    for name, url, headers in pages:
        timings: list[float] = []
        queries, status, cold = 0, 0, 0.0
        cache.clear()
        for i in range(repeat + 1):
            with CaptureQueriesContext(connection) as ctx:
                began = time.perf_counter()
                response = client.get(url, headers=headers)
                elapsed = time.perf_counter() - began
            status = response.status_code
            if i == 0:  # the first request after a cache flush: the cold figure
                cold = elapsed * 1000
            else:
                timings.append(elapsed * 1000)
                queries = len(ctx.captured_queries)
        timings.sort()
        results.append({
            "page": name, "url": url, "status": status, "queries": queries, "cold_ms": round(cold, 1),
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[max(0, int(len(timings) * 0.95) - 1)], 1),
        })
        print(f"  {name:<40} {results[-1]['p50_ms']:>8.1f} {results[-1]['p95_ms']:>8.1f} ms"
              f"  cold {cold:>7.1f} ms  {queries:>3} queries  HTTP {status}", flush=True)
    print(json.dumps({"runs": total, "attempts": TaskAttempt.objects.count(),
                      "dead_letters": DeadLetter.objects.count(), "pages": results}), file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=3_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="measure the existing seeded database")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.repeat)
        return
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        if not args.reuse:
            prepare(db, args.runs, args.attempts)
        print(f"[{db}] {'page':<40} {'p50':>8} {'p95':>8}", flush=True)
        out = subprocess.run([sys.executable, "-m", "bench.dashboard", "--measure", "--repeat", str(args.repeat)],
                             cwd=ROOT, env=db_env(db), check=True, stderr=subprocess.PIPE, text=True)
        summary = json.loads(out.stderr.strip().splitlines()[-1])
        slow = [p["page"] for p in summary["pages"] if p["p95_ms"] > 150]
        print(f"[{db}] {summary['runs']:,} runs, {summary['attempts']:,} attempts, "
              f"{summary['dead_letters']:,} dead letters; pages over 150 ms p95: {slow or 'none'}\n")
        results_dir = ROOT / "bench" / "results"
        results_dir.mkdir(exist_ok=True)
        (results_dir / f"dashboard-{db}.json").write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
