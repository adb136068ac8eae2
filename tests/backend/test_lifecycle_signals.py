"""taskboard's lifecycle signals (``run_retrying``, ``run_dead_lettered``, ``run_cancelled``,
``run_progress``): sent once per outcome, after it committed, wherever the run ended."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.dispatch import Signal
from django.utils import timezone

from taskboard import operations
from taskboard.backend import signals
from taskboard.models import Status, TaskRun
from taskboard.service import clock
from taskboard.transport import push as transport_push
from tests import sample_tasks
from tests.factories import FAIL, enqueue, executed

# In-process execution: the runner's monitor thread reads the run on its own connection.
pytestmark = pytest.mark.django_db(transaction=True)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def receiver(self, name: str) -> Any:
        def receive(sender: Any, run: TaskRun, **kwargs: Any) -> None:
            # What a receiver sees is committed: read it back on this connection.
            stored = TaskRun.objects.get(pk=run.pk)
            self.calls.append((name, stored.status, {k: v for k, v in kwargs.items() if k != "signal"}))
        return receive

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


@pytest.fixture
def recorded() -> Iterator[Recorder]:
    transport_push.broker_for("default").purge_queue()
    recorder = Recorder()
    hooks: list[tuple[Signal, Any]] = []
    for name in ("run_retrying", "run_dead_lettered", "run_cancelled", "run_progress"):
        signal = getattr(signals, name)
        receiver = recorder.receiver(name)
        signal.connect(receiver, sender=TaskRun, weak=False)
        hooks.append((signal, receiver))
    yield recorder
    for signal, receiver in hooks:
        signal.disconnect(receiver, sender=TaskRun)


def test_a_retry_then_success(recorded: Recorder) -> None:
    run = executed(TaskRun.objects.get(pk=sample_tasks.fail_until.enqueue(succeed_on=2).id))
    assert recorded.calls == [("run_retrying", Status.RETRYING, {})]
    clock.dispatch_due(timezone.now() + timedelta(seconds=1))
    assert executed(run).status == Status.SUCCEEDED
    assert recorded.names() == ["run_retrying"]


def test_a_permanent_failure_dead_letters(recorded: Recorder) -> None:
    executed(enqueue(FAIL, message="no"))
    assert recorded.calls == [("run_dead_lettered", Status.FAILED, {})]


def test_cancelling_a_waiting_run(recorded: Recorder) -> None:
    run = enqueue()
    operations.cancel(run.pk)
    assert recorded.calls == [("run_cancelled", Status.CANCELLED, {})]


def test_lease_recovery_by_the_clock(recorded: Recorder) -> None:
    run = TaskRun.objects.create(task="tests.sample_tasks.add", args=[1, 2], max_attempts=1)
    TaskRun.objects.claim(run.pk, "gone:42", 30)
    TaskRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    clock.recover_lost(timezone.now())
    assert recorded.calls == [("run_dead_lettered", Status.FAILED, {})]


def test_a_stale_outcome_sends_nothing(recorded: Recorder) -> None:
    run = TaskRun.objects.create(task="tests.sample_tasks.add", args=[1, 2], max_attempts=3)
    claimed = TaskRun.objects.claim(run.pk, "w:1", 30)
    assert claimed is not None
    TaskRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    clock.recover_lost(timezone.now())  # retrying now: the worker's own outcome is stale
    assert claimed.declare_dead("late report from the old worker") is False
    assert recorded.names() == ["run_retrying"]


def test_progress_is_coalesced_and_its_last_value_sent(recorded: Recorder, settings: Any) -> None:
    settings.TASKBOARD = {**settings.TASKBOARD, "PROGRESS_MIN_INTERVAL": 3600}
    executed(TaskRun.objects.get(pk=sample_tasks.report.enqueue(n=50).id))
    progress = [kwargs for name, _, kwargs in recorded.calls if name == "run_progress"]
    assert 1 <= len(progress) <= 2  # the first write, then the last one forced at the end
    assert progress[-1] == {"percent": 100, "message": "item 50"}
