"""procrastinate as a contender: ``noop.defer(key=…)`` one by one and ``noop.batch_defer`` in
bulk (the sync API, app opened with its psycopg connector), executors = one ``procrastinate
worker --concurrency W`` process (listen/notify on, jobs kept: procrastinate's defaults)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import psycopg

from bench.peers.contenders import Spec, require
from bench.peers.measure import Contender, versions
from bench.throughput.children import Child
from bench.throughput.common import PYTHON
from bench.throughput.driver import Driver


class Procrastinate(Contender):
    executors = ("one `procrastinate worker --concurrency {w}` process: {w} jobs at a time on its "
                 "event loop, the sync no-op run in threads")
    bulk_api = "Task.batch_defer"

    def __init__(self, driver: Driver, spec: Spec) -> None:
        super().__init__(driver)
        self.label = spec.label
        from bench.peers.procrastinate_app import app, noop

        self.app, self.task = app, noop
        self.app.open()
        self.db = psycopg.connect(os.environ["BENCH_PEERS_PG_URL"], autocommit=True)

    def setup(self) -> None:
        self.app.schema_manager.apply_schema()

    def enqueue(self, key: str) -> None:
        self.task.defer(key=key)

    def enqueue_bulk(self, keys: Sequence[str]) -> None:
        self.task.batch_defer(*({"key": key} for key in keys))

    def start(self, tag: str) -> list[Child]:
        # No log line per job (procrastinate logs two at INFO), like every other contender.
        argv = [PYTHON, "-m", "procrastinate", "--app", "bench.peers.procrastinate_app.app", "--log-level",
                "warning", "worker", "--concurrency", str(self.driver.workers), "--name", tag]
        return [self.driver.spawn(tag, argv, self.driver.env())]

    def finished_in_records(self) -> int:
        row = self.db.execute("SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'").fetchone()
        return int(row[0]) if row else 0

    def info(self) -> dict[str, Any]:
        return {"versions": versions("procrastinate", "psycopg")}

    def close(self) -> None:
        self.app.close()
        self.db.close()


def build(driver: Driver, spec: Spec) -> Contender:
    require("procrastinate")
    return Procrastinate(driver, spec)
