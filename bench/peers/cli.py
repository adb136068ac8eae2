"""``python -m bench.peers``: the arguments, then every contender in turn, then the report."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import bench.peers
from bench.peers.contenders import CONTENDERS, MISSING_PEER, missing_peers
from bench.peers.orchestrate import run_contender
from bench.peers.report import format_report
from bench.throughput.common import RESULTS_DIR, log
from bench.throughput.report import source_tree


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=bench.peers.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5000, help="no-op tasks per drain (default 5000)")
    parser.add_argument("--workers", type=int, default=2, help="executors per contender (default 2)")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"comma list of {', '.join(CONTENDERS)} (default: all, in this order)")
    parser.add_argument("--json", help="write raw results here (a bare name goes to bench/results/)")
    parser.add_argument("--latency-samples", type=int, default=200)
    parser.add_argument("--bulk-size", type=int, default=500, help="tasks per bulk enqueue call")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds allowed for one drain")
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres",
                        help="creates and drops the tb_peers_* databases")
    parser.add_argument("--redis-base", default="redis://127.0.0.1:6379",
                        help="Redis server; databases 8 (taskboard) and 7 (Celery) are flushed")
    args = parser.parse_args(argv)
    if args.n < 2 or args.workers < 1 or args.latency_samples < 1 or args.bulk_size < 1:
        parser.error("--n must be >= 2; --workers, --latency-samples and --bulk-size >= 1")
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = sorted(set(args.contenders) - set(CONTENDERS))
    if not args.contenders or unknown:
        parser.error(f"--contenders: unknown {', '.join(unknown) or '(none given)'}; "
                     f"choose from {', '.join(CONTENDERS)}")
    missing = missing_peers(args.contenders)
    if missing:
        parser.error(MISSING_PEER.format(peer=", ".join(missing)))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    workdir = Path(tempfile.mkdtemp(prefix="taskboard-peers-"))
    token = uuid.uuid4().hex
    log(f"work directory (logs, marks): {workdir}")
    results: dict[str, Any] = {
        "command": "python -m bench.peers " + " ".join(sys.argv[1:] if argv is None else argv),
        "tree": source_tree(), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(), "contenders": {}, "errors": {},
    }
    for name in args.contenders:
        log(f"=== {CONTENDERS[name].label} ===")
        try:
            results["contenders"][name] = run_contender(CONTENDERS[name], args, workdir, token)
        except Exception as exc:  # noqa: BLE001 - one contender failing must not lose the others
            log(f"{name} FAILED: {exc}")
            results["errors"][name] = str(exc)
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print("\n" + format_report(results), flush=True)
    tree = results["tree"]
    changed = f" + {len(tree['modified'])} uncommitted files (listed in --json)" if tree["modified"] else ""
    print(f"\ntaskboard source measured: {tree['head']}{changed}", flush=True)
    if args.json:
        path = Path(args.json)
        if path.parent == Path("."):
            RESULTS_DIR.mkdir(parents=True, exist_ok=True)
            path = RESULTS_DIR / path
        path.write_text(json.dumps(results, indent=2, default=str))
        log(f"raw results: {path}")
    return 1 if results["errors"] else 0
