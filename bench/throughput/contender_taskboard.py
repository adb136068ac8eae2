"""What is measured of taskboard: enqueue rates, the drain by ``taskboard_worker`` (cross-checked
from its own rows), enqueue→start latency and retry lateness on an idle pool."""

from __future__ import annotations

import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

from bench.throughput.children import Child
from bench.throughput.common import PYTHON, log, percentile
from bench.throughput.driver import Driver
from bench.throughput.marks import drain_from_marks, read_marks, wait_for


def enqueue_spaced(task: Any, samples: int, gap: float) -> list[str]:
    """Enqueue ``samples`` runs of ``task``, ``gap`` seconds apart (an idle pool's view)."""
    ids = []
    for _ in range(samples):
        ids.append(task.enqueue().id)
        time.sleep(gap)
    return ids


def start_worker(driver: Driver, tag: str) -> tuple[Child, Path]:
    mark = driver.workdir / f"marks-{tag}.txt"
    child = driver.spawn(
        tag, [PYTHON, "manage.py", "taskboard_worker", "--workers", str(driver.workers)],
        driver.env(DJANGO_SETTINGS_MODULE=driver.args.taskboard_settings, BENCH_MARK_FILE=str(mark)),
    )
    return child, mark


def drain(driver: Driver, child: Child, mark: Path, run_ids: list[str]) -> dict[str, Any]:
    from django.db.models import Count, Max, Min, Q

    from taskboard.models import TaskAttempt, TaskRun

    names = {f"run-{run_id}" for run_id in run_ids}

    def finished() -> bool:
        return len({m[2] for m in read_marks(mark)} & names) >= len(names)

    wait_for("taskboard drain", finished, driver.args.timeout, child)
    result = drain_from_marks(read_marks(mark), len(run_ids), names, child.started)
    pks = [uuid.UUID(run_id) for run_id in run_ids]
    agg = TaskRun.objects.filter(pk__in=pks).aggregate(
        first=Min("started_at"), last=Max("finished_at"), ok=Count("pk", filter=Q(status="succeeded")))
    if agg["first"] is None or agg["last"] is None:
        raise RuntimeError("taskboard drain: the marks say done but no run has started and finished")
    span = (agg["last"] - agg["first"]).total_seconds()
    attempts = TaskAttempt.objects.filter(run_id__in=pks)
    result.update({
        "db_first_claim_to_last_finish_s": span,
        "db_tasks_per_s": (len(run_ids) - 1) / span if span > 0 else math.inf,
        "runs_succeeded": agg["ok"],
        "attempt_rows": attempts.count(),
        "attempt_rows_succeeded": attempts.filter(outcome="succeeded").count(),
        "loadavg_1m_after": os.getloadavg()[0],
    })
    return result


def latency(samples: int, gap: float) -> dict[str, Any]:
    from taskboard.demo import noop
    from taskboard.models import TaskRun

    ids = enqueue_spaced(noop, samples, gap)
    wait_for("latency runs", lambda: TaskRun.objects.filter(
        pk__in=ids, status="succeeded").count() == samples, 60)
    lat = [(s - e).total_seconds() for e, s in
           TaskRun.objects.filter(pk__in=ids).values_list("enqueued_at", "started_at") if s is not None]
    return {"samples": samples, "gap_s": gap, "p50_ms": percentile(lat, 50) * 1000,
            "p95_ms": percentile(lat, 95) * 1000, "max_ms": max(lat) * 1000}


def retry_lateness(samples: int, gap: float) -> dict[str, Any]:
    from bench.tasks import fail_once
    from taskboard.models import TaskAttempt, TaskRun

    ids = enqueue_spaced(fail_once, samples, gap)
    pks = [uuid.UUID(run_id) for run_id in ids]
    wait_for("retried runs", lambda: TaskRun.objects.filter(
        pk__in=pks, status__in=["succeeded", "failed"]).count() == samples, 120)
    runs = {str(r.pk): r for r in TaskRun.objects.filter(pk__in=pks)}
    first = {str(a.run_id): a for a in TaskAttempt.objects.filter(run_id__in=pks, number=1)}
    second = {str(a.run_id): a for a in TaskAttempt.objects.filter(run_id__in=pks, number=2)}
    late, late_vs_finish, delays = [], [], []
    for run_id, run in runs.items():
        a1, a2 = first.get(run_id), second.get(run_id)
        if a1 is None or a2 is None or run.run_after is None:
            continue
        # The due time settle_failure computed (now + 1.0 s backoff): attempt 1's
        # retry_at where the model has it, else the run's run_after (same value).
        # Attempt 2's started_at is its claim time.
        due = getattr(a1, "retry_at", None) or run.run_after
        late.append((a2.started_at - due).total_seconds())
        delays.append((due - a1.finished_at).total_seconds())
        late_vs_finish.append((a2.started_at - a1.finished_at).total_seconds() - 1.0)
    statuses = {s: TaskRun.objects.filter(pk__in=pks, status=s).count() for s in ("succeeded", "failed")}
    return {
        "samples": len(late), "gap_s": gap, "backoff_s": 1.0, "statuses": statuses,
        "p50_ms": percentile(late, 50) * 1000, "p95_ms": percentile(late, 95) * 1000,
        "max_ms": max(late) * 1000, "min_ms": min(late) * 1000,
        "vs_attempt1_finish_plus_1s_p95_ms": percentile(late_vs_finish, 95) * 1000,
        "recorded_delay_p50_ms": percentile(delays, 50) * 1000,
    }


def run_taskboard(driver: Driver, tag: str, full: bool) -> dict[str, Any]:
    """One round of taskboard; ``full`` adds latency, retry lateness and the atomic enqueue."""
    from django.db import transaction

    from taskboard.demo import noop

    n, args = driver.n, driver.args
    out: dict[str, Any] = {}
    log(f"taskboard: enqueue {n} noop runs, one at a time (autocommit), no worker")
    began = time.perf_counter()
    ids = [noop.enqueue().id for _ in range(n)]
    seconds = time.perf_counter() - began
    out["enqueue_single"] = {"runs": n, "seconds": seconds, "runs_per_s": n / seconds}

    child, mark = start_worker(driver, tag)
    try:
        out["drain"] = drain(driver, child, mark, ids)
        log(f"taskboard drain: {out['drain']['tasks_per_s']:.1f} tasks/s")
        if not full:
            return out
        time.sleep(1.0)  # let the pool go idle
        log(f"taskboard: enqueue→start latency, {args.latency_samples} samples")
        out["latency"] = latency(args.latency_samples, 0.05)
        log(f"taskboard: retry lateness, {args.retry_samples} runs failing once")
        out["retry"] = retry_lateness(args.retry_samples, 0.05)
    finally:
        driver.stop(child)

    batch = args.atomic_batch
    log(f"taskboard: enqueue {n} noop runs in transaction.atomic() blocks of {batch}")
    ids = []
    began = time.perf_counter()
    for start in range(0, n, batch):
        with transaction.atomic():
            ids.extend(noop.enqueue().id for _ in range(min(batch, n - start)))
    seconds = time.perf_counter() - began
    out["enqueue_atomic"] = {"runs": n, "batch": batch, "seconds": seconds, "runs_per_s": n / seconds}
    child, mark = start_worker(driver, f"{tag}-atomic")
    try:
        out["drain_2"] = drain(driver, child, mark, ids)
        log(f"taskboard drain (2nd batch): {out['drain_2']['tasks_per_s']:.1f} tasks/s")
    finally:
        driver.stop(child)
    return out
