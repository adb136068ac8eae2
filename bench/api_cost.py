"""What one ``POST /api/runs/`` costs the server, against the bare view, measured in-process.

    .venv/bin/python -m bench.api_cost [--db sqlite|postgres|both] [--requests 1000]

``bench.api_http``'s throughput moves with whatever else the machine runs; these figures move
much less: each request goes through Django's WSGI handler in this process (the project's whole
middleware stack; no socket, no gunicorn) on a database migrated afresh as ``bench.api_http``
does. Per request, for both contenders:

- **Python calls**: ``cProfile``'s count, deterministic, a stand-in for CPU time;
- **SQL statements** sent through Django's cursors (BEGIN/COMMIT are not among them);
- **CPU ms**: ``time.process_time`` over ``--requests`` requests, best of 3 loops, no profiler;
- for taskboard, the calls and CPU ms inside ``operations.enqueue`` (the run, its audit event,
  the commit and the push): the rest is the request path around it;
- on PostgreSQL on this host, the CPU of the connection's server process (from ``/proc``);
- then (``--threads``, 8) that many threads of this process sending requests back to back,
  as the threads of one gunicorn worker do: req/s and CPU per request, where the GIL and
  SQLite's write lock are shared (2 × 5 s per contender, interleaved).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.api_http import ENQUEUE_BODY, ROOT, discard, env_for, prepare

WARM_UP = 50
PROFILED = 200


def environ(path: str, headers: dict[str, str]) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:8000", "wsgi.url_scheme": "http",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(ENQUEUE_BODY)),
        "wsgi.input": io.BytesIO(ENQUEUE_BODY), "wsgi.input_terminated": True,
    }
    env.update(headers)
    return env


class Inside:
    """Wraps ``operations.enqueue``: CPU seconds spent in it and, while ``profile`` is set,
    a profile of it alone."""

    def __init__(self, verb: Callable[..., Any]) -> None:
        self.verb = verb
        self.cpu = 0.0
        self.profile: cProfile.Profile | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            if self.profile is None:
                return self.verb(*args, **kwargs)
            return self.profile.runcall(self.verb, *args, **kwargs)
        finally:
            self.cpu += time.process_time() - began


def calls_of(profile: cProfile.Profile) -> int:
    total: int = pstats.Stats(profile).total_calls  # type: ignore[attr-defined]
    return total


@contextmanager
def counting_statements() -> Iterator[list[int]]:
    from django.db import connection

    count = [0]

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield count


def database_cpu() -> float | None:
    """PostgreSQL on this host: CPU seconds of this connection's server process so far (from
    ``/proc``); else None."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # the server is on another host
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(path: str, headers: dict[str, str], requests: int, inside: Inside | None) -> dict[str, Any]:
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    statuses: list[str] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        statuses.append(status)
        return lambda data: None

    def one() -> None:
        body = app(environ(path, headers), start_response)
        b"".join(body)
        body.close()

    for _ in range(WARM_UP):
        one()
    if not statuses[-1].startswith("201"):
        raise RuntimeError(f"POST {path} answered {statuses[-1]}")
    with counting_statements() as statements:
        for _ in range(WARM_UP):
            one()
    whole = cProfile.Profile()
    for _ in range(PROFILED):
        whole.runcall(one)
    row: dict[str, Any] = {"calls": round(calls_of(whole) / PROFILED), "statements": statements[0] / WARM_UP}
    if inside is not None:
        inside.profile = cProfile.Profile()
        for _ in range(PROFILED):
            one()
        row["enqueue_calls"] = round(calls_of(inside.profile) / PROFILED)
        inside.profile = None
    cpu, enqueue_cpu, db_cpu = [], [], []
    for _ in range(3):
        if inside is not None:
            inside.cpu = 0.0
        db_began = database_cpu()
        began = time.process_time()
        for _ in range(requests):
            one()
        cpu.append((time.process_time() - began) / requests * 1000)
        if db_began is not None:
            db_cpu.append((database_cpu() - db_began) / requests * 1000)  # type: ignore[operator]
        if inside is not None:
            enqueue_cpu.append(inside.cpu / requests * 1000)
    row["cpu_ms"] = round(min(cpu), 3)
    if db_cpu:
        row["db_cpu_ms"] = round(min(db_cpu), 3)
    if enqueue_cpu:
        row["enqueue_cpu_ms"] = round(min(enqueue_cpu), 3)
    return row


def threaded(path: str, headers: dict[str, str], threads: int, seconds: float) -> dict[str, Any]:
    """``threads`` threads of this process sending the request back to back for ``seconds``,
    as the threads of one gunicorn worker do (the GIL and the write lock shared): req/s and
    CPU ms per request (all threads')."""
    import threading

    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    app = get_wsgi_application()
    done: list[int] = []

    def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if not status.startswith("20"):
            raise RuntimeError(f"POST {path} answered {status}")
        return lambda data: None

    def client(until: float) -> None:
        count = 0
        while time.monotonic() < until:
            body = app(environ(path, headers), start_response)
            b"".join(body)
            body.close()
            count += 1
        done.append(count)
        connections.close_all()

    workers = [threading.Thread(target=client, args=(time.monotonic() + seconds,)) for _ in range(threads)]
    began, cpu = time.monotonic(), time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    total, wall, cpu = sum(done), time.monotonic() - began, time.process_time() - cpu
    return {"rps": round(total / wall), "cpu_ms": round(cpu / total * 1000, 3)}


def child(token: str, requests: int, threads: int) -> None:
    """Runs in a fresh interpreter whose environment names the database."""
    import django

    django.setup()
    from taskboard import operations

    inside = Inside(operations.enqueue)
    operations.enqueue = inside  # the API view looks it up per call
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    rows = {"bare": measure("/bare/rows/", {}, requests, None),
            "taskboard": measure("/api/runs/", auth, requests, inside)}
    if threads:
        operations.enqueue = inside.verb
        for _ in range(2):  # interleaved, as the load moves
            for name, path, headers in (("bare", "/bare/rows/", {}), ("taskboard", "/api/runs/", auth)):
                rows[name].setdefault("threaded", []).append(threaded(path, headers, threads, 5.0))
    print(json.dumps(rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--requests", type=int, default=1000, help="requests per CPU loop")
    parser.add_argument("--sqlite-path", default="/tmp/taskboard-bench-cost.sqlite3")
    parser.add_argument("--pg-server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--pg-db", default="taskboard_bench_cost", help="created, and dropped after the run")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13", help="flushed")
    parser.add_argument("--threads", type=int, default=8,
                        help="then this many threads in one process, 2 x 5 s per contender (0: skip)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.requests, args.threads)
        return
    print(f"load average {os.getloadavg()[0]:.1f}; per request:")
    for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        env = env_for(args, db)
        token = prepare(args, db, env)
        try:
            out = subprocess.run([sys.executable, "-m", "bench.api_cost", "--child", token,
                                  "--requests", str(args.requests), "--threads", str(args.threads)],
                                 cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        finally:
            discard(args, db)
        rows = json.loads(out.stdout.strip().splitlines()[-1])
        for name, row in rows.items():
            extra = (f"  (inside operations.enqueue: {row['enqueue_calls']} calls, {row['enqueue_cpu_ms']} ms)"
                     if "enqueue_calls" in row else "")
            server = f"  (PostgreSQL server: {row['db_cpu_ms']:.3f} ms)" if "db_cpu_ms" in row else ""
            print(f"  {db:<8} {name:<9} {row['calls']:>5} Python calls  {row['statements']:.2f} SQL statements  "
                  f"{row['cpu_ms']:.3f} ms CPU{extra}{server}", flush=True)
            for step in row.get("threaded", []):
                print(f"  {db:<8} {name:<9} {args.threads} threads: {step['rps']:>5} req/s  "
                      f"{step['cpu_ms']:.3f} ms CPU per request", flush=True)


if __name__ == "__main__":
    main()
