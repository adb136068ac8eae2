"""Completion marks (one line per message the cluster's monitor finished, see bench/apps.py)
and the drain figures computed from them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.throughput.children import Child

# (unix time, message id, message name, success)
Mark = tuple[float, str, str, bool]


class Stalled(Exception):
    """A contender completed nothing for ``--stall`` seconds."""


def read_marks(path: Path) -> list[Mark]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    marks = []
    for line in text.splitlines():
        parts = line.split(" ")
        if len(parts) == 4:
            marks.append((float(parts[0]), parts[1], parts[2], parts[3] == "1"))
    return marks


def wait_for(what: str, done: Callable[[], bool], timeout: float, child: Child | None = None,
             interval: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if child is not None and not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.returncode} while waiting "
                               f"for {what}; see {child.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def drain_from_marks(marks: list[Mark], n: int, names: set[str] | None, spawned: float) -> dict[str, Any]:
    """First completion of each wanted message → tasks/s between the first and the last."""
    first_seen: dict[str, float] = {}
    extra = 0
    for t, msg_id, name, _ok in marks:
        key = name if names is not None else msg_id
        if names is not None and name not in names:
            continue
        if key in first_seen:
            extra += 1  # a duplicate delivery (taskboard drops it at the claim)
            continue
        first_seen[key] = t
    times = sorted(first_seen.values())
    if len(times) < n:
        raise RuntimeError(f"only {len(times)} of {n} messages completed")
    span = times[-1] - times[0]
    return {
        "tasks": n,
        "seconds": span,
        "tasks_per_s": (n - 1) / span if span > 0 else math.inf,
        "startup_s": times[0] - spawned,
        "wall_tasks_per_s": n / (times[-1] - spawned),
        "duplicate_deliveries": extra,
    }
