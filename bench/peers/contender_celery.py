"""Celery as a contender: ``noop.delay(key)`` one by one (Celery has no bulk publish; a
``group`` sends one message per task), executors = ``celery worker --pool prefork
--concurrency W``. No result backend, so its "records" are the broker's: the queue and the
unacknowledged set both empty."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from bench.peers.contenders import Spec, require
from bench.peers.measure import Contender, versions
from bench.throughput.children import Child
from bench.throughput.common import PYTHON
from bench.throughput.driver import Driver

QUEUE = "celery"  # the default queue; kombu's Redis transport keeps deliveries in "unacked"


class CeleryContender(Contender):
    executors = ("`celery worker --pool prefork --concurrency {w}`: {w} forked pool processes fed "
                 "by the main process; prefetch multiplier 4 (default), early acknowledgement")
    bulk_note = "no bulk enqueue API (a group publishes one message per task)"

    def __init__(self, driver: Driver, spec: Spec) -> None:
        super().__init__(driver)
        self.label = spec.label
        import redis

        from bench.peers.celery_app import noop

        self.task = noop
        self.redis = redis.Redis.from_url(os.environ["BENCH_PEERS_CELERY_BROKER"])
        self.enqueued = 0

    def enqueue(self, key: str) -> None:
        self.task.delay(key)
        self.enqueued += 1

    def enqueue_bulk(self, keys: Sequence[str]) -> None:
        raise NotImplementedError(self.bulk_note)

    def start(self, tag: str) -> list[Child]:
        argv = [PYTHON, "-m", "celery", "-A", "bench.peers.celery_app", "worker", "--pool", "prefork",
                "--concurrency", str(self.driver.workers), "--loglevel", "WARNING",
                "--hostname", f"bench-{tag}@%h"]
        # SIGTERM to the main process only: its warm shutdown stops the pool itself.
        return [self.driver.spawn(tag, argv, self.driver.env(), term_group=False)]

    def finished_in_records(self) -> int:
        pending = int(self.redis.llen(QUEUE)) + int(self.redis.hlen("unacked"))
        return self.enqueued - pending

    def info(self) -> dict[str, Any]:
        return {"versions": versions("celery", "kombu", "redis")}

    def close(self) -> None:
        self.redis.close()


def build(driver: Driver, spec: Spec) -> Contender:
    require("celery")
    return CeleryContender(driver, spec)
