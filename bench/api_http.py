"""JSON API over HTTP: ``POST /api/runs/`` against a bare Django view, then the 1/8/32 sweep.

    .venv/bin/python -m bench.api_http [--db sqlite|postgres|both] [--seconds 10] [--rounds 5]

For each configuration: a fresh database (SQLite file + ORM broker, or PostgreSQL + Redis)
migrated with ``bench.bare.settings`` (taskboard's settings plus the bare view's app and URL),
and one server started with ``taskboard_serve``'s own gunicorn command line on a free loopback
port, serving both contenders from the same processes.

1. **Comparison** (no ``taskboard_worker`` running: the request path alone): ``--rounds``
   rounds of ``--seconds`` at ``--clients`` (8) closed-loop clients, the bare view
   (``POST /bare/rows/``: validate a small JSON body, insert one row) and ``POST /api/runs/``
   (enqueue ``taskboard.demo.noop`` with a superuser's bearer token) alternately, the order
   swapped every round, as the machine is shared. Per round: taskboard / bare; the medians.
2. **Sweep** (unless ``--no-sweep``): ``taskboard_worker`` (2 workers) starts and drains while
   ``POST /api/runs/`` and then ``GET /api/runs/{id}/`` (random runs created by the POSTs) run
   at 1, 8 and 32 clients.

Only processes started here are stopped, by process group. Raw results: ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import databases
from bench.http_load import Target, free_port, load, wait_listening
from taskboard.management.commands._gunicorn import THREADS, WORKER_CLASS, gunicorn_command
from taskboard.service import processes

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "bench.bare.settings"
ENQUEUE_BODY = json.dumps({"task": "taskboard.demo.noop"}).encode()
JSON = {"Content-Type": "application/json"}


def env_for(args: argparse.Namespace, db: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS, "TASKBOARD_DEMO": "0", "DEBUG": "0",
           "LOG_LEVEL": "WARNING", "TASKBOARD_WORKERS": "2", "SECRET_KEY": "bench-" + "x" * 50}
    if db == "sqlite":
        env.update(DATABASE_URL="", TASKBOARD_SQLITE_PATH=args.sqlite_path, TASKBOARD_BROKER_URL="")
    else:
        env.update(DATABASE_URL=f"{args.pg_server}/{args.pg_db}", TASKBOARD_BROKER_URL=args.redis_url)
    return env


def discard(args: argparse.Namespace, db: str, *, create: bool = False) -> None:
    """Remove the benchmark's database (and empty its broker); with ``create``, make an empty one."""
    if create:
        databases.fresh(db, args.sqlite_path, args.pg_db, args.pg_server)
    else:
        databases.drop(db, args.sqlite_path, args.pg_db, args.pg_server)
    if db == "postgres":
        import redis

        redis.from_url(args.redis_url).flushdb()


def prepare(args: argparse.Namespace, db: str, env: dict[str, str]) -> str:
    """A fresh, migrated database (and empty broker); the key of a superuser's token.
    ``discard`` removes it after the run."""
    discard(args, db, create=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c",
         "from django.contrib.auth.models import User; from taskboard.operations.tokens import create_token;"
         "u = User.objects.create_superuser('bench', 'b@example.com', 'pw'); print(create_token(u, 'bench')[1])"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return made.stdout.strip().splitlines()[-1]


def start(name: str, cmd: list[str], env: dict[str, str], log: Path) -> processes.ProcessGroup:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return processes.start(cmd, name=name, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def line(label: str, row: dict[str, Any]) -> str:
    return (f"{label:<28} {row['clients']:>2} clients: {row['rps']:>7} req/s  p50 {row['p50_ms']:>6} ms  "
            f"p95 {row['p95_ms']:>6} ms  errors {row['errors']}"
            + (f"  server CPU {row['server_cpu_ms']} ms/req" if row.get("server_cpu_ms") is not None else "")
            + f"  load {row['load_average']}")


def compare(args: argparse.Namespace, db: str, port: int, targets: dict[str, Target], pgid: int) -> dict[str, Any]:
    """Interleaved rounds, bare view and taskboard alternately; per-round ratios."""
    rounds: list[dict[str, Any]] = []
    for i in range(args.rounds):
        order = ["bare", "taskboard"] if i % 2 == 0 else ["taskboard", "bare"]
        row: dict[str, Any] = {}
        for name in order:
            result = load(port, targets[name], args.clients, args.seconds, pgid)
            result.pop("created")
            row[name] = result
            print(f"  [{db}] round {i + 1} " + line(f"{name}", result), flush=True)
        row["ratio"] = round(row["taskboard"]["rps"] / row["bare"]["rps"], 3) if row["bare"]["rps"] else None
        rounds.append(row)
    summary = {name: statistics.median(r[name]["rps"] for r in rounds) for name in ("bare", "taskboard")}
    ratios = [r["ratio"] for r in rounds if r["ratio"] is not None]
    summary["ratio_median"] = statistics.median(ratios) if ratios else None
    summary["errors"] = sum(r[n]["errors"] for r in rounds for n in ("bare", "taskboard"))
    loads = [r[n]["load_average"] for r in rounds for n in ("bare", "taskboard")]
    summary["load_average"] = [min(loads), max(loads)]
    print(f"  [{db}] {args.clients} clients, median of {args.rounds} interleaved rounds: bare "
          f"{summary['bare']} req/s, taskboard {summary['taskboard']} req/s, taskboard / bare "
          f"{summary['ratio_median']} (per round {ratios}; load average {min(loads)}-{max(loads)}); "
          f"target >= 0.7", flush=True)
    return {"rounds": rounds, "summary": summary}


def sweep(db: str, port: int, targets: dict[str, Target], seconds: float, pgid: int) -> dict[str, Any]:
    results: dict[str, Any] = {"post": [], "get": []}
    ids: list[str] = []
    for clients in (1, 8, 32):
        row = load(port, targets["taskboard"], clients, seconds, pgid)
        ids.extend(row.pop("created"))
        results["post"].append(row)
        print(f"  [{db}] " + line("POST /api/runs/", row), flush=True)
    if not ids:
        raise RuntimeError("no run was created; see the server log")
    get = Target("GET", "/api/runs/{id}/", headers=targets["taskboard"].headers, ids=tuple(ids))
    for clients in (1, 8, 32):
        row = load(port, get, clients, seconds, pgid)
        row.pop("created")
        results["get"].append(row)
        print(f"  [{db}] " + line("GET  /api/runs/{id}/", row), flush=True)
    return results


def run_config(args: argparse.Namespace, db: str, logs: Path) -> dict[str, Any]:
    env = env_for(args, db)
    token = prepare(args, db, env)
    port = free_port()
    command = gunicorn_command(sys.executable, f"127.0.0.1:{port}", workers=args.web_workers,
                               control_socket=str(logs / f"gunicorn-{db}.ctl"), threads=args.threads,
                               worker_class=args.worker_class)
    server = start("gunicorn", command, env, logs / f"gunicorn-{db}.log")
    started = [server]
    auth = {**JSON, "Authorization": f"Bearer {token}"}
    targets = {"bare": Target("POST", "/bare/rows/", ENQUEUE_BODY, JSON),
               "taskboard": Target("POST", "/api/runs/", ENQUEUE_BODY, auth)}
    load_avg = round(os.getloadavg()[0], 1)
    print(f"== {db}: gunicorn {args.web_workers} x {args.worker_class}"
          f"{f' ({args.threads} threads)' if args.worker_class == 'gthread' else ''}, "
          f"load average at start {load_avg} ==", flush=True)
    results: dict[str, Any] = {"db": db, "server": command[3:], "load_average": load_avg}
    try:
        wait_listening(port)
        for target in targets.values():  # warm-up: imports, connections, every gunicorn worker
            load(port, target, 4, 2)
        results["compare"] = compare(args, db, port, targets, server.pid)
        if args.sweep:
            worker_env = {**env, "DJANGO_SETTINGS_MODULE": "taskboard.settings"}
            started.append(start("taskboard_worker", [sys.executable, "manage.py", "taskboard_worker"],
                                 worker_env, logs / f"worker-{db}.log"))
            results.update(sweep(db, port, targets, args.seconds, server.pid))
    finally:
        processes.stop_all(started, grace=20.0)
        discard(args, db)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each load step")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the comparison")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients in the comparison")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false", help="only the comparison")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (as make run)")
    parser.add_argument("--worker-class", default=WORKER_CLASS, help="gunicorn worker class (A/B runs)")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads per gthread worker")
    parser.add_argument("--sqlite-path", default="/tmp/taskboard-bench-http.sqlite3")
    parser.add_argument("--pg-server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--pg-db", default="taskboard_bench_http", help="created, and dropped after the run")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="flushed")
    parser.add_argument("--json", default="api_http.json", help="file name under bench/results/")
    args = parser.parse_args()
    if args.seconds <= 0 or args.rounds < 1 or args.clients < 1:
        parser.error("--seconds, --rounds and --clients must be positive")
    logs = Path(tempfile.mkdtemp(prefix="taskboard-bench-http-"))
    print(f"logs: {logs}", flush=True)
    all_results = [run_config(args, db, logs)
                   for db in (["sqlite", "postgres"] if args.db == "both" else [args.db])]
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / args.json).write_text(json.dumps(all_results, indent=2))


if __name__ == "__main__":
    main()
