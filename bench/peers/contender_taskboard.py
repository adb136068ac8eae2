"""taskboard as a contender (both configurations): ``noop.enqueue(key)`` in autocommit,
``taskboard.bulk.enqueue_many``, executors = ``manage.py taskboard_worker --workers W`` started
by ``bench.throughput``'s own ``start_worker`` (settings ``bench.settings``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import django

from bench.peers.contenders import Spec
from bench.peers.measure import Contender, versions
from bench.throughput.children import Child
from bench.throughput.contender_taskboard import start_worker
from bench.throughput.driver import Driver


class Taskboard(Contender):
    executors = ("`manage.py taskboard_worker --workers {w}`: {w} worker processes (a django-q2 "
                 "cluster) plus taskboard's dispatcher; every attempt recorded")

    def __init__(self, driver: Driver, spec: Spec) -> None:
        super().__init__(driver)
        self.label = spec.label
        from bench.peers.django_tasks import noop

        self.task = noop
        try:
            # Written alongside this benchmark; until it lands the bulk figure is skipped.
            import taskboard.bulk
        except ImportError as exc:
            self.bulk_note = f"taskboard.bulk is not importable ({exc}); bulk enqueue skipped"
        else:
            self.bulk = taskboard.bulk
            self.bulk_api = "taskboard.bulk.enqueue_many"

    def enqueue(self, key: str) -> None:
        self.task.enqueue(key)

    def enqueue_bulk(self, keys: Sequence[str]) -> None:
        self.bulk.enqueue_many(self.task, [self.bulk.call(key) for key in keys])

    def start(self, tag: str) -> list[Child]:
        child, _monitor_marks = start_worker(self.driver, tag)
        return [child]

    def finished_in_records(self) -> int:
        from taskboard.models import Status, TaskRun

        # Only the benchmark's no-op: the worker's own clock may fire the built-in retention
        # schedule during a run (at minute 7), and that run is not one the driver enqueued.
        return TaskRun.objects.filter(task=self.task.module_path, status=Status.SUCCEEDED).count()

    def info(self) -> dict[str, Any]:
        from django.db import connection

        from taskboard.models import TaskAttempt

        # Durability check: one attempt row per finished run (no retries of a no-op).
        return {"database": connection.vendor, "versions": versions("Django", "django-q2"),
                "attempt_rows": TaskAttempt.objects.filter(task=self.task.module_path).count()}

    def close(self) -> None:
        from django.db import connection

        connection.close()


def build(driver: Driver, spec: Spec) -> Contender:
    django.setup()  # bench.settings, with the configuration's database and broker
    return Taskboard(driver, spec)
