"""``python -m bench.throughput``: the arguments, then every configuration in turn (or, with
the internal ``--driver``, the measurement of one configuration in this process)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import bench.throughput
from bench.throughput.common import RESULTS_DIR, log
from bench.throughput.driver import Driver
from bench.throughput.orchestrate import run_config
from bench.throughput.report import CONFIG_TITLES, LABELS, format_report, results_tree_text, source_tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=bench.throughput.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--n", type=int, default=5000, help="no-op tasks per contender")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="write raw results here (a bare name goes to bench/results/)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="drain every contender this many times, interleaved; report medians")
    parser.add_argument("--contenders", default="taskboard,q2-defaults,q2-tuned,q2-saveall",
                        help="comma list of taskboard, q2-defaults, q2-tuned, q2-saveall")
    parser.add_argument("--drain-only", action="store_true",
                        help="taskboard: skip the atomic enqueue, latency and retry measurements")
    parser.add_argument("--taskboard-settings", default="bench.settings",
                        help="DJANGO_SETTINGS_MODULE of taskboard's workers (to try a candidate)")
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--retry-samples", type=int, default=100)
    parser.add_argument("--atomic-batch", type=int, default=500)
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds allowed for one drain")
    parser.add_argument("--stall", type=float, default=60.0,
                        help="plain django-q2: end a drain that completes nothing for this long")
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-db", default="taskboard_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--keep", action="store_true",
                        help="keep the benchmark database (default: drop it; logs stay in the work directory)")
    parser.add_argument("--driver", help=argparse.SUPPRESS)
    parser.add_argument("--driver-out", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.n < 2 or args.workers < 1 or args.rounds < 1:
        parser.error("--n must be >= 2, --workers and --rounds >= 1")
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    if not args.contenders or set(args.contenders) - set(LABELS):
        parser.error(f"--contenders: choose from {', '.join(LABELS)}")

    if args.driver:  # internal: one configuration, in a process of its own
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        driver = Driver(args, dict(os.environ), Path(args.workdir))
        result = driver.run()
        Path(args.driver_out).write_text(json.dumps(result, indent=2, default=str))
        return 0

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    workdir = Path(tempfile.mkdtemp(prefix="taskboard-bench-"))
    token = uuid.uuid4().hex
    log(f"work directory (logs, marks): {workdir}")
    log(f"taskboard source: {results_tree_text(source_tree())}")
    results: dict[str, Any] = {
        "command": "python -m bench.throughput " + " ".join(sys.argv[1:] if argv is None else argv),
        "tree": source_tree(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
        "configurations": {},
    }
    reports = []
    for backend in backends:
        log(f"=== configuration: {CONFIG_TITLES[backend]} ===")
        r = run_config(backend, args, workdir, token)
        results["configurations"][backend] = r
        reports.append(format_report(backend, r))
        print("\n" + reports[-1] + "\n", flush=True)
    if len(reports) > 1:
        print("\n===== summary =====\n" + "\n\n".join(reports), flush=True)
    print(f"\ntaskboard source measured: {results_tree_text(results['tree'])}", flush=True)
    results["tree_at_end"] = source_tree()
    if results["tree_at_end"] != results["tree"]:
        log(f"WARNING: taskboard's source changed during the run: {results['tree']} -> "
            f"{results['tree_at_end']}")
    if args.json:
        path = Path(args.json)
        if path.parent == Path("."):
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            path = RESULTS_DIR / path
        path.write_text(json.dumps(results, indent=2, default=str))
        log(f"raw results: {path}")
    return 0
