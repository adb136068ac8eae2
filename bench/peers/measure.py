"""The measurement every contender goes through, in its own driver process, in this order:

1. **enqueue, one by one** — N no-op tasks enqueued by this process, no executor running.
2. **pre-filled drain** — the executors start on that full queue; drain = (N − 1) / (last start
   mark − first start mark), so start-up is not counted.
3. **latency** — the executors idle; one task at a time: enqueue, wait for its start mark, sleep
   a random 20–70 ms (a random gap, so a polling executor is probed at every phase of its poll);
   latency = start mark − the moment ``enqueue`` was called.
4. **drain while enqueueing** — this process enqueues N more, one by one, as fast as it can,
   while the executors run; the same drain figure, and the enqueue rate reached meanwhile.
5. **bulk enqueue** (contenders with a bulk API) — executors stopped, N tasks enqueued in calls
   of ``--bulk-size``; then drained like step 2 (reported, not in the headline table).

After every drain the contender's own records must say every task so far is finished
(``Contender.finished_in_records``), so a start mark never stands in for a lost or failed task.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.peers.marks import ENV, MarkTail
from bench.throughput.children import Child
from bench.throughput.common import log, percentile
from bench.throughput.driver import Driver
from bench.throughput.marks import drain_from_marks, read_marks, wait_for


class Contender:
    """One peer as the measurement sees it; each ``contender_*`` module subclasses it."""

    label = ""
    executors = ""  # what "2 executors" means for this peer, in words (goes in the report)
    bulk_api: str | None = None  # the bulk enqueue call measured, or None: the peer has none
    bulk_note = ""  # why there is no bulk figure

    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    def setup(self) -> None:
        """Create the contender's schema in its (fresh, empty) database, if it has one."""

    def enqueue(self, key: str) -> None:
        raise NotImplementedError

    def enqueue_bulk(self, keys: Sequence[str]) -> None:
        raise NotImplementedError

    def start(self, tag: str) -> list[Child]:
        """Start the executors, each process group through ``driver.spawn``."""
        raise NotImplementedError

    def finished_in_records(self) -> int:
        """Tasks finished successfully according to the contender's own records."""
        raise NotImplementedError

    def info(self) -> dict[str, Any]:
        """Versions and the peer's own totals, taken after the last drain."""
        return {}

    def close(self) -> None:
        """Release the driver's connections (before the orchestrator drops the database)."""


def versions(*packages: str) -> dict[str, str]:
    from importlib.metadata import version

    return {package: version(package) for package in packages}


def timed(enqueue: Callable[[str], None], keys: Sequence[str]) -> dict[str, Any]:
    began = time.perf_counter()
    for key in keys:
        enqueue(key)
    seconds = time.perf_counter() - began
    return {"tasks": len(keys), "seconds": seconds, "per_s": len(keys) / seconds}


class Measurement:
    def __init__(self, contender: Contender, args: argparse.Namespace) -> None:
        self.c = contender
        self.args = args
        self.n: int = args.n
        self.marks = Path(os.environ[ENV])
        self.enqueued = 0  # every task handed to the contender so far

    def stop(self, children: list[Child]) -> None:
        for child in children:
            self.c.driver.stop(child)

    def drain(self, what: str, keys: Sequence[str], children: list[Child], since: float) -> dict[str, Any]:
        names, tail = set(keys), MarkTail(self.marks)

        def all_started() -> bool:
            for child in children:
                if not child.alive():
                    raise RuntimeError(f"{child.name} exited with {child.returncode} during the "
                                       f"{what}; see {child.log_path}")
            tail.poll()  # only the new lines: the executors share the machine with this loop
            return names <= tail.times.keys()

        wait_for(f"{self.c.label}: {what}", all_started, self.args.timeout)
        result = drain_from_marks(read_marks(self.marks), len(keys), names, since)
        # Every task so far must be finished in the peer's own records (not only started).
        began = time.monotonic()
        wait_for(f"{self.c.label}: {what}, its records", lambda: self.c.finished_in_records() >= self.enqueued,
                 60, interval=0.1)
        result["records_finished"] = self.c.finished_in_records()
        result["records_confirmed_within_s"] = time.monotonic() - began
        result["loadavg_1m_after"] = os.getloadavg()[0]
        log(f"{self.c.label}: {what}: {result['tasks_per_s']:.1f} tasks/s")
        return result

    def enqueue_keys(self, prefix: str) -> list[str]:
        keys = [f"{prefix}-{i}" for i in range(self.n)]
        self.enqueued += len(keys)
        return keys

    def latency(self, samples: int) -> dict[str, Any]:
        tail, rng, lat = MarkTail(self.marks), random.Random(13), []
        for i in range(samples):
            key = f"lat-{i}"
            self.enqueued += 1
            began = time.time()
            self.c.enqueue(key)
            deadline = time.monotonic() + 30
            while (started := tail.seen(key)) is None:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.c.label}: latency sample {key} did not start within 30 s")
                time.sleep(0.005)
            lat.append(started - began)
            time.sleep(rng.uniform(0.02, 0.07))
        ms = [x * 1000 for x in lat]
        return {"samples": samples, "p50_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95),
                "max_ms": max(ms), "min_ms": min(ms)}

    def run(self) -> dict[str, Any]:
        c, workers = self.c, self.args.workers
        out: dict[str, Any] = {
            "label": c.label, "executors": c.executors.format(w=workers), "bulk_api": c.bulk_api,
            "bulk_note": c.bulk_note, "n": self.n, "workers": workers, "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg()}
        c.setup()
        keys = self.enqueue_keys("pre")
        log(f"{c.label}: enqueue {self.n}, one by one, no executor running")
        out["enqueue_single"] = timed(c.enqueue, keys)
        children = c.start("executors")
        try:
            out["drain_prefilled"] = self.drain("pre-filled drain", keys, children, children[0].started)
            time.sleep(1.0)  # let the pool go idle
            log(f"{c.label}: enqueue→start latency, {self.args.latency_samples} samples")
            out["latency"] = self.latency(self.args.latency_samples)
            keys = self.enqueue_keys("live")
            log(f"{c.label}: enqueue {self.n} while the executors drain")
            began = time.time()
            out["enqueue_while_draining"] = timed(c.enqueue, keys)
            out["drain_live"] = self.drain("drain while enqueueing", keys, children, began)
        finally:
            self.stop(children)
        if c.bulk_api is None:
            out["enqueue_bulk"] = None
        else:
            out["enqueue_bulk"] = self.bulk()
        out.update(c.info(), tasks_total=self.enqueued, records_finished=c.finished_in_records())
        c.close()
        return out

    def bulk(self) -> dict[str, Any]:
        c, size = self.c, self.args.bulk_size
        keys = self.enqueue_keys("bulk")
        log(f"{c.label}: enqueue {self.n} with {c.bulk_api}, {size} per call, no executor running")
        began = time.perf_counter()
        for start in range(0, len(keys), size):
            c.enqueue_bulk(keys[start:start + size])
        seconds = time.perf_counter() - began
        result: dict[str, Any] = {"tasks": len(keys), "per_call": size, "seconds": seconds,
                                  "per_s": len(keys) / seconds}
        children = c.start("executors-bulk")
        try:
            result["drain"] = self.drain("drain of the bulk-enqueued queue", keys, children,
                                         children[0].started)
        finally:
            self.stop(children)
        return result
