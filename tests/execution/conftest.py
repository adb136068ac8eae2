"""Fixtures for tests that start real ``taskboard_worker`` processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from taskboard.transport import push as transport_push
from tests.execution.workers import WorkerProcess

StartWorker = Callable[..., WorkerProcess]


@pytest.fixture
def start_worker() -> Iterator[StartWorker]:
    """Start ``taskboard_worker`` processes (ready when returned); all stopped afterwards."""
    transport_push.broker_for("default").purge_queue()
    started: list[WorkerProcess] = []

    def start(workers: int = 2, extra_env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(workers=workers, extra_env=extra_env)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()

