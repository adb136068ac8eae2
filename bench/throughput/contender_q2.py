"""What is measured of plain django-q2 (profiles in bench/q2_plain_settings.py): the enqueue
rate of ``async_task`` and the drain by ``qcluster``, which may stall and then gives a partial
sample instead of ending the whole benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.throughput.children import Child
from bench.throughput.common import BASE_DIR, PYTHON, log
from bench.throughput.driver import Driver
from bench.throughput.marks import Stalled, drain_from_marks, read_marks, wait_for


def run_q2(driver: Driver, profile: str, tag: str) -> dict[str, Any]:
    env = driver.env(DJANGO_SETTINGS_MODULE="bench.q2_plain_settings",
                     BENCH_Q2_PROFILE=profile, BENCH_Q2_WORKERS=str(driver.workers))
    n = driver.n
    log(f"django-q2 {profile}: enqueue {n} async_task calls (subprocess)")
    done = subprocess.run([PYTHON, "-m", "bench.q2_enqueue", str(n)], cwd=BASE_DIR,
                          env=env, capture_output=True, text=True, timeout=driver.args.timeout)
    if done.returncode != 0:
        raise RuntimeError(f"q2_enqueue failed:\n{done.stderr[-3000:]}")
    enq = json.loads(done.stdout.strip().splitlines()[-1])
    out: dict[str, Any] = {"enqueue": {"runs": enq["n"], "seconds": enq["seconds"],
                                       "runs_per_s": enq["n"] / enq["seconds"]}}
    out["settings"] = q2_settings(env)
    mark = driver.workdir / f"marks-{tag}.txt"
    child = driver.spawn(tag, [PYTHON, "manage.py", "qcluster"], dict(env, BENCH_MARK_FILE=str(mark)),
                         term_group=False)
    try:
        stalled = wait_for_marks(driver, f"django-q2 {profile} drain", mark, child)
        if stalled is None:
            out["drain"] = drain_from_marks(read_marks(mark), n, None, child.started)
        else:
            out["drain"] = stalled
        time.sleep(0.5)
    finally:
        driver.stop(child, grace=10.0)
    marks = read_marks(mark)
    out["drain"]["failed"] = sum(1 for m in marks if not m[3])
    out["drain"]["result_save_errors"] = child.log_path.read_text(
        errors="replace").count("Could not save task result")
    out["drain"]["left_in_broker"] = q2_left(env)
    out["drain"]["loadavg_1m_after"] = os.getloadavg()[0]
    log(f"django-q2 {profile} drain: {out['drain']['tasks_per_s']:.1f} tasks/s")
    return out


def wait_for_marks(driver: Driver, what: str, mark: Path, child: Child) -> dict[str, Any] | None:
    """Wait for N marks; None when they came. A contender that completes nothing for
    ``--stall`` seconds (plain django-q2 with its defaults jams now and then on SQLite)
    gives a partial sample instead of ending the whole benchmark."""
    n, stall = driver.n, driver.args.stall
    last_count, last_change = 0, time.monotonic()

    def progressing() -> bool:
        nonlocal last_count, last_change
        count = len(read_marks(mark))
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        if time.monotonic() - last_change > stall:
            raise Stalled
        return count >= n

    try:
        wait_for(what, progressing, driver.args.timeout, child)
        return None
    except Stalled:
        marks = sorted(m[0] for m in read_marks(mark))
        span = marks[-1] - marks[0] if len(marks) > 1 else 0.0
        log(f"{what}: STALLED after {len(marks)} of {n} messages (nothing done for "
            f"{stall:g} s); counting the completed part only")
        return {"tasks": len(marks), "seconds": span, "stalled": True,
                "tasks_per_s": (len(marks) - 1) / span if span > 0 else 0.0}


def q2_settings(env: dict[str, str]) -> dict[str, Any]:
    """The Q_CLUSTER the contender ran with (for the report)."""
    code = ("import django,json;django.setup();from django.conf import settings;"
            "print(json.dumps(settings.Q_CLUSTER))")
    done = subprocess.run([PYTHON, "-c", code], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=60)
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {}
    return parsed


def q2_left(env: dict[str, str]) -> int | None:
    """Messages still in the broker after the drain (queued or locked)."""
    code = ("import django;django.setup();from django_q.brokers import get_broker;"
            "b=get_broker();print(b.queue_size() + (b.lock_size() or 0))")
    done = subprocess.run([PYTHON, "-c", code], cwd=BASE_DIR, env=env, capture_output=True,
                          text=True, timeout=60)
    try:
        return int(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
