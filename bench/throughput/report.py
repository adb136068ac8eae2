"""The text report of one configuration, and which source tree was measured."""

from __future__ import annotations

import subprocess
from typing import Any

from bench.throughput.common import BASE_DIR

CONFIG_TITLES = {
    "sqlite": "SQLite (WAL) + ORM broker",
    "postgres": "PostgreSQL + Redis broker",
}

LABELS = {"taskboard": "taskboard", "q2-defaults": "django-q2 defaults",
          "q2-tuned": "django-q2 tuned", "q2-saveall": "django-q2 tuned, all results kept"}


def _samples(c: dict[str, Any]) -> str:
    samples, stalled = c["drain_samples"], set(c.get("stalled_rounds", ()))
    if len(samples) < 2 and not stalled:
        return ""
    # "*": the round stalled; its rate counts only the messages completed before it did.
    return " [" + ", ".join(f"{x:.0f}{'*' if n in stalled else ''}" for n, x in enumerate(samples, 1)) + "]"


def format_report(backend: str, r: dict[str, Any]) -> str:
    rounds = max(len(r[c]["drain_samples"]) for c in LABELS if c in r)
    lines = [
        f"== {CONFIG_TITLES[backend]} — {r['n']} no-op tasks, {r['workers']} workers, "
        f"{r['cpus']} CPUs, load avg at start {r['loadavg_start'][0]:.1f} ==",
        "drain (tasks/s: first → last message done, seen by the cluster's monitor"
        + (f"; median of {rounds} interleaved rounds" if rounds > 1 else "") + ")",
    ]
    tb, qd, qt = r.get("taskboard"), r.get("q2-defaults"), r.get("q2-tuned")
    qs = r.get("q2-saveall")
    if tb:
        d = tb["drain"]
        lines.append(
            f"  taskboard                {tb['drain_tasks_per_s']:8.1f}{_samples(tb)}   (its rows: "
            f"first claim→last finish {d['db_tasks_per_s']:.1f}/s; attempt rows "
            f"{d['attempt_rows_succeeded']}/{d['tasks']}; duplicate deliveries "
            f"{d['duplicate_deliveries']})")
        if "drain_2" in tb:
            d2 = tb["drain_2"]
            lines.append(f"  taskboard, atomic batch  {d2['tasks_per_s']:8.1f}   (the runs enqueued "
                         f"in atomic blocks; attempt rows {d2['attempt_rows_succeeded']}/{d2['tasks']})")
    if qd:
        lines.append(
            f"  django-q2 defaults       {qd['drain_tasks_per_s']:8.1f}{_samples(qd)}   (result-save "
            f"errors {qd['drain']['result_save_errors']}, failed {qd['drain']['failed']}, "
            f"left in broker {qd['drain']['left_in_broker']})")
    if qt:
        lines.append(f"  django-q2 tuned          {qt['drain_tasks_per_s']:8.1f}{_samples(qt)}   "
                     f"({tuned_summary(qt['settings'])})")
    if qs:
        lines.append(f"  django-q2 tuned+results  {qs['drain_tasks_per_s']:8.1f}{_samples(qs)}   "
                     f"(reference: save_limit=0, a result row per task; save errors "
                     f"{qs['drain']['result_save_errors']})")
    if "ratio_vs_q2-defaults" in r:
        lines.append(f"  taskboard / q2 defaults  {r['ratio_vs_q2-defaults']:8.2f}x")
    if "ratio_vs_q2-tuned" in r:
        ratio = r["ratio_vs_q2-tuned"]
        lines.append(f"  taskboard / q2 tuned     {ratio:8.2f}x   target >= 0.80x: "
                     f"{'MET' if ratio >= 0.8 else 'MISSED'}")
    if "ratio_vs_q2-saveall" in r:
        lines.append(f"  taskboard / q2 tuned+results {r['ratio_vs_q2-saveall']:4.2f}x   (reference)")
    if any(r[c].get("stalled_rounds") for c in LABELS if c in r):
        lines.append("  * a round that stalled (nothing completed for --stall seconds): its rate "
                     "counts the messages completed before that")
    lines.append("enqueue (runs/s, one thread, no worker running)")
    if tb:
        lines.append(f"  taskboard noop.enqueue(), autocommit            "
                     f"{tb['enqueue_single']['runs_per_s']:8.1f}")
        if "enqueue_atomic" in tb:
            lines.append(f"  taskboard, transaction.atomic() blocks of {tb['enqueue_atomic']['batch']:<6d}"
                         f"{tb['enqueue_atomic']['runs_per_s']:8.1f}")
    if qd:
        lines.append(f"  django-q2 async_task (defaults)                 "
                     f"{qd['enqueue']['runs_per_s']:8.1f}")
    if qt:
        lines.append(f"  django-q2 async_task, reused broker (tuned)     "
                     f"{qt['enqueue']['runs_per_s']:8.1f}")
    if tb and "latency" in tb:
        lat, ret = tb["latency"], tb["retry"]
        lines.append(
            f"enqueue→start latency, idle pool ({lat['samples']} runs, {lat['gap_s'] * 1000:.0f} ms "
            f"apart): p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, max {lat['max_ms']:.0f} ms")
        lines.append(
            f"retry lateness vs due time ({ret['samples']} runs, fixed 1.0 s backoff): "
            f"p50 {ret['p50_ms']:.0f} ms, p95 {ret['p95_ms']:.0f} ms, max {ret['max_ms']:.0f} ms; "
            f"target p95 <= 1 s: {'MET' if ret['p95_ms'] <= 1000 else 'MISSED'}")
    return "\n".join(lines)


def tuned_summary(settings: dict[str, Any]) -> str:
    keys = ("save_limit", "bulk", "queue_limit", "recycle", "poll")
    return ", ".join(f"{k}={settings[k]}" for k in keys if k in settings)


def results_tree_text(tree: dict[str, Any]) -> str:
    return tree["head"] + (f" + uncommitted {', '.join(tree['modified'])}" if tree["modified"] else "")


def source_tree() -> dict[str, Any]:
    """Which taskboard was measured: HEAD and the files that differ from it (read-only git)."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=BASE_DIR, capture_output=True, text=True,
                                  timeout=20).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    return {"head": git("rev-parse", "--short", "HEAD").strip(),
            "modified": [line[3:] for line in git("status", "--porcelain").splitlines()
                         if line[3:] and not line[3:].startswith("bench/")]}
