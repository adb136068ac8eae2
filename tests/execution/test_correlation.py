"""Correlation ids in a worker: bound to every log line of an attempt, passed on to what the
attempt enqueues."""

from __future__ import annotations

import logging

import pytest

from taskboard import correlation
from taskboard.execution.runner import execute
from taskboard.models import TaskRun
from tests import callback_tasks, sample_tasks
from tests.execution.test_logging import Collect

pytestmark = pytest.mark.django_db(transaction=True)


def test_log_lines_of_an_attempt_carry_its_correlation_id() -> None:
    handler = Collect()
    logger = logging.getLogger("taskboard.execution.runner")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with correlation("order-1042"):
            failing = sample_tasks.fail_until.enqueue(succeed_on=5)
        execute(failing.id)
        plain = sample_tasks.add.enqueue(1, 2)
        execute(plain.id)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    by_run = {(e["run_id"], e["event"]): e for e in handler.events if "run_id" in e}
    assert by_run[(failing.id, "attempt failed")]["correlation_id"] == "order-1042"
    # A run without one logs its own id: what the runs it enqueues will carry.
    assert by_run[(plain.id, "attempt succeeded")]["correlation_id"] == plain.id


def test_correlation_rejects_what_cannot_be_an_id() -> None:
    from taskboard.exceptions import InvalidTaskArguments

    for bad in ("", "x" * 101, "a\nb"):
        with pytest.raises(InvalidTaskArguments):
            with correlation(bad):
                pass


def test_nested_fan_out_keeps_the_root_correlation() -> None:
    with correlation("req-1"):
        outer = callback_tasks.enqueue_add.enqueue()
    assert TaskRun.objects.get(pk=outer.id).correlation_id == "req-1"
    execute(outer.id)
    inner = TaskRun.objects.get(pk=str(TaskRun.objects.get(pk=outer.id).result))
    assert inner.correlation_id == "req-1"
