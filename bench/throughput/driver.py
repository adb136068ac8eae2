"""The driver: one configuration (database + broker) in a process of its own, Django set up
with bench.settings; it runs every contender for ``--rounds`` interleaved rounds."""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path
from typing import Any

from bench.throughput.children import Child
from bench.throughput.common import log


class Driver:
    def __init__(self, args: argparse.Namespace, base_env: dict[str, str], workdir: Path) -> None:
        self.args = args
        self.n: int = args.n
        self.workers: int = args.workers
        self.base_env = base_env
        self.workdir = workdir
        self.children: list[Child] = []

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(self.base_env)
        env.update(extra)
        return env

    def spawn(self, name: str, argv: list[str], env: dict[str, str], *, term_group: bool = True) -> Child:
        child = Child(name, argv, env, self.workdir / f"{name}.log", term_group=term_group)
        self.children.append(child)
        return child

    def stop(self, child: Child, grace: float = 15.0) -> None:
        child.stop(grace)
        self.children.remove(child)
        log(f"stopped {child.name}")

    def stop_all(self) -> None:
        for child in list(self.children):
            self.stop(child, grace=5.0)

    def run(self) -> dict[str, Any]:
        import django

        django.setup()
        from django.db import connection

        from bench.throughput.contender_q2 import run_q2
        from bench.throughput.contender_taskboard import run_taskboard

        result: dict[str, Any] = {
            "n": self.n, "workers": self.workers, "cpus": os.cpu_count(),
            "database": connection.vendor, "broker": "redis" if self.base_env.get(
                "TASKBOARD_BROKER_URL") else "orm", "loadavg_start": os.getloadavg(),
            "taskboard_settings": self.args.taskboard_settings,
        }
        rounds: dict[str, list[dict[str, Any]]] = {c: [] for c in self.args.contenders}
        try:
            for number in range(1, self.args.rounds + 1):
                for contender in self.args.contenders:
                    if contender == "q2-defaults" and number > 1:
                        # One round only: ~70 s per drain, and on a database that already
                        # holds its 250 pruned results it slows to a few tasks/s.
                        continue
                    tag = f"{contender}-r{number}"
                    if contender == "taskboard":
                        full = number == 1 and not self.args.drain_only
                        sample = run_taskboard(self, tag, full)
                    else:
                        sample = run_q2(self, contender.removeprefix("q2-"), tag)
                    connection.close()
                    rounds[contender].append(sample)
        finally:
            self.stop_all()
            connection.close()
        for contender, samples in rounds.items():
            # Round 1 carries the extras (enqueue, latency, retries); the headline drain is
            # the median over rounds, interleaved so that load from elsewhere hits all alike.
            drains = [s["drain"]["tasks_per_s"] for s in samples]
            result[contender] = dict(samples[0], drain_samples=drains,
                                     drain_tasks_per_s=statistics.median(drains),
                                     stalled_rounds=[n for n, s in enumerate(samples, 1)
                                                     if s["drain"].get("stalled")])
        if "taskboard" in result:
            tb = result["taskboard"]["drain_tasks_per_s"]
            for contender in ("q2-defaults", "q2-tuned", "q2-saveall"):
                if contender in result:
                    result[f"ratio_vs_{contender}"] = tb / result[contender]["drain_tasks_per_s"]
        return result
