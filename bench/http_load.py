"""The HTTP load generator of ``bench.api_http``: closed-loop keep-alive clients.

Each client is a thread holding one keep-alive ``http.client`` connection and sending its next
request as soon as the previous answer is read (closed loop: the figure is the server's
throughput at that concurrency, not an offered rate). Threads run in separate processes, at most
``PER_PROCESS`` per process, so the generator's own GIL is not the ceiling. Every request's
latency is recorded; a non-2xx answer or a connection failure counts as an error.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

PER_PROCESS = 8
KEEP_IDS = 2000  # ids kept per client from POST answers (for the GET step)


@dataclass(frozen=True)
class Target:
    """What every client sends: ``path`` may contain ``{id}``, filled with a random ``ids`` item."""

    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    ids: tuple[str, ...] = ()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_listening(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on port {port} after {timeout:.0f} s") from None
            time.sleep(0.2)


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by the live processes of a process group (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[2]) == pgid:  # fields[0] is the state: pgrp is the 5th field of stat
            total += int(fields[11]) + int(fields[12])
    return total / tick


def _client_process(port: int, target: Target, stop_at: float, threads: int, out: Any) -> None:
    latencies: list[float] = []
    errors = [0]
    created: list[str] = []
    lock = threading.Lock()

    def one_client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rng = random.Random()
        mine: list[float] = []
        made: list[str] = []
        bad = 0
        while time.monotonic() < stop_at:
            path = target.path.format(id=rng.choice(target.ids)) if target.ids else target.path
            began = time.perf_counter()
            try:
                conn.request(target.method, path, body=target.body, headers=target.headers)
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
            elif target.method == "POST" and len(made) < KEEP_IDS:
                made.append(json.loads(payload)["id"])
        conn.close()
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


def load(port: int, target: Target, clients: int, seconds: float, server_pgid: int | None = None) -> dict[str, Any]:
    """``clients`` closed-loop clients for ``seconds``: requests/s, p50/p95 (ms), errors, the
    ids of the runs created (POST), the load average and, given the server's process group,
    its CPU time per request (ms)."""
    cpu_before = group_cpu_seconds(server_pgid) if server_pgid else 0.0
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = []
    stop_at = time.monotonic() + seconds
    remaining = clients
    while remaining > 0:
        n = min(PER_PROCESS, remaining)
        procs.append(ctx.Process(target=_client_process, args=(port, target, stop_at, n, queue)))
        remaining -= n
    began = time.monotonic()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - began
    cpu = group_cpu_seconds(server_pgid) - cpu_before if server_pgid else None
    latencies = sorted(x for r in results for x in r["latencies"])
    return {
        "server_cpu_ms": round(cpu * 1000 / len(latencies), 2) if cpu is not None and latencies else None,
        # The machine is shared: what else ran meanwhile (1-minute load average at the end).
        "load_average": round(os.getloadavg()[0], 1),
        "clients": clients, "requests": len(latencies), "errors": sum(r["errors"] for r in results),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p95_ms": round(latencies[int(len(latencies) * 0.95) - 1] * 1000, 1) if latencies else None,
        "created": [i for r in results for i in r["created"]],
    }
