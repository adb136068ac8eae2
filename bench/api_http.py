"""JSON API over HTTP: requests/s and latency at 1, 8 and 32 concurrent clients.

    .venv/bin/python -m bench.api_http [--db sqlite|postgres|both] [--seconds 10]

For each configuration: a fresh database (SQLite file + ORM broker, or PostgreSQL + Redis),
the server ``make run`` uses (gunicorn, 2 workers × 8 threads) on a free loopback port, and
``taskboard_worker`` (2 workers) draining the enqueued no-op runs at the same time. The load
generator is separate processes (one per 8 clients) holding keep-alive connections with
``http.client``; each measures every request's latency. Endpoints: ``POST /api/runs/``
(enqueue ``taskboard.demo.noop``) and ``GET /api/runs/{id}/`` (a random run created by the
POST phase). Only processes started here are stopped, by process group.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from taskboard.service import processes

ROOT = Path(__file__).resolve().parent.parent
SQLITE_PATH = "/tmp/taskboard-bench-http.sqlite3"
PG_NAME = "taskboard_bench_http"
REDIS_URL = "redis://127.0.0.1:6379/13"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(db: str) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", "TASKBOARD_DEMO": "0",
           "LOG_LEVEL": "WARNING", "TASKBOARD_WORKERS": "2", "SECRET_KEY": "bench-" + "x" * 50}
    if db == "sqlite":
        env.update(DATABASE_URL="", TASKBOARD_SQLITE_PATH=SQLITE_PATH, TASKBOARD_BROKER_URL="")
    else:
        env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{PG_NAME}",
                   TASKBOARD_BROKER_URL=REDIS_URL)
    return env


def prepare(db: str, env: dict[str, str]) -> str:
    if db == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(SQLITE_PATH + suffix).unlink(missing_ok=True)
    else:
        import psycopg
        import redis

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {PG_NAME}")
        redis.from_url(REDIS_URL).flushdb()
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v0", "-c",
         "from django.contrib.auth.models import User; from taskboard.operations.tokens import create_token;"
         "u = User.objects.create_superuser('bench', 'b@example.com', 'pw'); print(create_token(u, 'bench')[1])"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return made.stdout.strip().splitlines()[-1]


def client_loop(port: int, token: str, mode: str, ids: list[str], stop_at: float, threads: int,
                out: Any) -> None:
    import threading

    latencies: list[float] = []
    errors = [0]
    created: list[str] = []
    lock = threading.Lock()

    def one_client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = json.dumps({"task": "taskboard.demo.noop"})
        rng = random.Random()
        mine: list[float] = []
        made: list[str] = []
        bad = 0
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            try:
                if mode == "post":
                    conn.request("POST", "/api/runs/", body=body, headers=headers)
                else:
                    conn.request("GET", f"/api/runs/{rng.choice(ids)}/", headers=headers)
                response = conn.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                bad += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - began)
            if response.status >= 300:
                bad += 1
            elif mode == "post" and len(made) < 2000:
                made.append(json.loads(payload)["id"])
        with lock:
            latencies.extend(mine)
            errors[0] += bad
            created.extend(made)

    workers = [threading.Thread(target=one_client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put({"latencies": latencies, "errors": errors[0], "created": created})


def load(port: int, token: str, mode: str, clients: int, seconds: float, ids: list[str]) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    per_process = 8
    procs = []
    stop_at = time.monotonic() + seconds
    remaining = clients
    while remaining > 0:
        n = min(per_process, remaining)
        procs.append(ctx.Process(target=client_loop, args=(port, token, mode, ids, stop_at, n, queue)))
        remaining -= n
    began = time.monotonic()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - began
    latencies = sorted(x for r in results for x in r["latencies"])
    return {
        "clients": clients, "requests": len(latencies), "errors": sum(r["errors"] for r in results),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1) if latencies else None,
        "created": [i for r in results for i in r["created"]],
    }


def start(name: str, cmd: list[str], env: dict[str, str], log: Path) -> processes.ProcessGroup:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return processes.start(cmd, name=name, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def run_config(db: str, seconds: float) -> dict[str, Any]:
    env = env_for(db)
    token = prepare(db, env)
    port = free_port()
    logs = Path("/tmp")
    gunicorn = [sys.executable, "-m", "gunicorn", "taskboard.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--workers", "2", "--worker-class", "gthread", "--threads", "8"]
    server = start("gunicorn", gunicorn, env, logs / f"bench-http-gunicorn-{db}.log")
    worker = start("taskboard_worker", [sys.executable, "manage.py", "taskboard_worker"], env,
                   logs / f"bench-http-worker-{db}.log")
    results: dict[str, Any] = {"db": db, "post": [], "get": []}
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.2)
        load(port, token, "post", 2, 2, [])  # warm-up: imports, connections
        ids: list[str] = []
        for clients in (1, 8, 32):
            row = load(port, token, "post", clients, seconds, [])
            ids.extend(row.pop("created"))
            results["post"].append(row)
            print(f"  [{db}] POST /api/runs/       {clients:>2} clients: {row['rps']:>7} req/s  "
                  f"p50 {row['p50_ms']:>6} ms  p95 {row['p95_ms']:>6} ms  errors {row['errors']}", flush=True)
        for clients in (1, 8, 32):
            row = load(port, token, "get", clients, seconds, ids)
            row.pop("created")
            results["get"].append(row)
            print(f"  [{db}] GET  /api/runs/{{id}}/  {clients:>2} clients: {row['rps']:>7} req/s  "
                  f"p50 {row['p50_ms']:>6} ms  p95 {row['p95_ms']:>6} ms  errors {row['errors']}", flush=True)
    finally:
        processes.stop_all([server, worker], grace=20.0)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each load step")
    args = parser.parse_args()
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    all_results = [run_config(db, args.seconds)
                   for db in (["sqlite", "postgres"] if args.db == "both" else [args.db])]
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "api_http.json").write_text(json.dumps(all_results, indent=2))


if __name__ == "__main__":
    main()
