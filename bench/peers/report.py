"""The text report: one Markdown table (the README's), then what stands behind each row."""

from __future__ import annotations

from typing import Any

from bench.peers.contenders import CONTENDERS

REFERENCE = "celery"
DRAINS = (("drain_live", "drain while enqueueing"), ("drain_prefilled", "drain, pre-filled"))


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _drain(r: dict[str, Any], key: str, ref: dict[str, Any] | None) -> str:
    rate = r[key]["tasks_per_s"]
    if ref is None or r is ref:
        return _rate(rate)
    return f"{_rate(rate)} ({rate / ref[key]['tasks_per_s']:.2f}×)"


def table(results: dict[str, Any]) -> list[str]:
    contenders, ref = results["contenders"], results["contenders"].get(REFERENCE)
    n = next((r["n"] for r in contenders.values()), "?")
    lines = [f"| contender ({n} no-op tasks, 2 executors) | enqueue/s | bulk enqueue/s | "
             + " | ".join(f"{title}, tasks/s{' (× Celery)' if ref else ''}" for _, title in DRAINS)
             + " | enqueue→start p50 / p95 |",
             "|---|---|---|---|---|---|"]
    for r in contenders.values():
        bulk = r.get("enqueue_bulk")
        lines.append(" | ".join([
            f"| {r['label']}", _rate(r["enqueue_single"]["per_s"]),
            _rate(bulk["per_s"]) if bulk else "–",
            *(_drain(r, key, ref) for key, _ in DRAINS),
            f"{r['latency']['p50_ms']:.1f} / {r['latency']['p95_ms']:.1f} ms |"]))
    for name, error in results["errors"].items():
        lines.append(f"| {CONTENDERS[name].label} | failed: {error} | | | | |")
    return lines


def details(name: str, r: dict[str, Any]) -> list[str]:
    bulk = r.get("enqueue_bulk")
    dups = sum(r[key]["duplicate_deliveries"] for key, _ in DRAINS)
    lines = [f"{r['label']} [{name}]: {r['executors']}",
             f"    enqueue while draining {r['enqueue_while_draining']['per_s']:,.0f}/s; "
             f"latency max {r['latency']['max_ms']:.1f} ms over {r['latency']['samples']} samples; "
             f"load avg after drains {r['drain_prefilled']['loadavg_1m_after']:.1f} / "
             f"{r['drain_live']['loadavg_1m_after']:.1f}"]
    if bulk:
        lines.append(f"    bulk: {r['bulk_api']}, {bulk['per_call']} per call; that queue drained at "
                     f"{bulk['drain']['tasks_per_s']:,.0f} tasks/s")
    elif r.get("bulk_note"):
        lines.append(f"    bulk: {r['bulk_note']}")
    check = "OK" if r["records_finished"] == r["tasks_total"] else "MISMATCH"
    lines.append(f"    its own records: {r['records_finished']} of {r['tasks_total']} tasks finished ({check}); "
                 f"duplicate start marks {dups}"
                 + (f"; attempt rows {r['attempt_rows']}" if "attempt_rows" in r else "")
                 + f"; versions {', '.join(f'{k} {v}' for k, v in r.get('versions', {}).items())}")
    return lines


def format_report(results: dict[str, Any]) -> str:
    tree = results["tree"]
    lines = [f"== taskboard and its peers, {results['started']} → {results['finished']}, "
             f"{results['cpus']} CPUs, load avg at start {results['loadavg_start'][0]:.1f}; taskboard "
             f"{tree['head']}{f' + {len(tree['modified'])} uncommitted files' if tree['modified'] else ''} ==",
             "", *table(results), ""]
    for name, r in results["contenders"].items():
        lines.extend(details(name, r))
    return "\n".join(lines)
