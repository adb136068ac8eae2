"""The driver process of one contender: ``python -m bench.peers.child NAME …`` (started by the
orchestrator with the contender's environment; the only place a peer package is imported)."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
from pathlib import Path

from bench.peers.contenders import CONTENDERS
from bench.peers.measure import Measurement
from bench.throughput.driver import Driver


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers.child")
    parser.add_argument("contender", choices=sorted(CONTENDERS))
    parser.add_argument("--out", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--latency-samples", type=int, required=True)
    parser.add_argument("--bulk-size", type=int, required=True)
    parser.add_argument("--timeout", type=float, required=True)
    args = parser.parse_args(argv)
    args.taskboard_settings = "bench.settings"  # read by bench.throughput's start_worker
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    spec = CONTENDERS[args.contender]
    driver = Driver(args, dict(os.environ), Path(args.workdir))
    try:
        module = importlib.import_module(f"bench.peers.{spec.module}")
        result = Measurement(module.build(driver, spec), args).run()
    finally:
        driver.stop_all()
    Path(args.out).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
