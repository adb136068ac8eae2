"""A finishing worker claims the next held run of its key in the release (``flow.handoff``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from django.tasks.signals import task_finished

from taskboard.execution.runner import execute
from taskboard.flow import handoff, pauses, release
from taskboard.models import Status, TaskRun
from taskboard.transport import cluster
from tests import sample_tasks
from tests.flow.test_admission import claim, run_of, succeed

pytestmark = pytest.mark.django_db(transaction=True)


def backlog(account: int, n: int) -> tuple[TaskRun, list[Any]]:
    """One run of ``account`` running, ``n`` more held behind it."""
    results = [sample_tasks.one_per_account.enqueue(account=account) for _ in range(n + 1)]
    running = claim(results[0])
    assert running is not None
    for result in results[1:]:
        claim(result)
    assert {run_of(r).status for r in results[1:]} == {Status.HELD}
    return running, results[1:]


def test_the_freed_slot_is_claimed_for_the_finishing_worker_best_run_first():
    running, (low,) = backlog(11, 1)
    high = sample_tasks.one_per_account.using(priority=5).enqueue(account=11)
    claim(high)
    with handoff.handing_off("host:2", 30, "default") as handed:
        succeed(running)
    assert handed.claimed is not None and str(handed.claimed.pk) == high.id
    row = run_of(high)
    assert (row.status, row.attempts, row.worker, row.hold_reason, row.hold_key, row.held_since) == (
        Status.RUNNING, 1, "host:2", "", "", None)
    assert row.lease_expires_at is not None and row.claimed_at is not None
    assert handed.claimed.attempts == 1 and handed.claimed.status == Status.RUNNING
    # The slot went to the claimed run: nothing else is released, nothing pushed.
    assert run_of(low).status == Status.HELD and handed.released == []


def test_without_a_hand_off_the_run_is_released_to_its_message():
    running, (held,) = backlog(12, 1)
    succeed(running)
    assert run_of(held).status == Status.QUEUED


@pytest.mark.parametrize("obstacle", ["paused", "other queue", "queue limit"])
def test_a_run_admission_must_see_is_released_not_claimed(obstacle, settings):
    running, (held,) = backlog(13, 1)
    queue = "default"
    if obstacle == "paused":
        pauses.pause("task", "tests.sample_tasks.one_per_account")
    elif obstacle == "other queue":
        queue = "reports"
    else:
        settings.TASKBOARD_QUEUE_LIMITS = {"default": 10}
    with handoff.handing_off("host:2", 30, queue) as handed:
        succeed(running)
    assert handed.claimed is None
    assert run_of(held).status == Status.QUEUED
    assert [str(pk) for pk, _ in handed.released] == [held.id]


def test_a_rolled_back_release_hands_nothing():
    running, (held,) = backlog(14, 1)
    with handoff.handing_off("host:2", 30, "default") as handed:
        with pytest.raises(RuntimeError), transaction.atomic():
            release.release_concurrency("account:14", 1)
            raise RuntimeError("the release's transaction fails")
    assert handed.claimed is None and run_of(held).status == Status.HELD
    assert running.status == Status.RUNNING


def test_one_claim_per_hand_off_even_in_one_outer_transaction():
    # Two free slots under one outer transaction: one run claimed, the other released.
    first, (a, b) = backlog(15, 2)
    TaskRun.objects.filter(pk=first.pk).update(status=Status.SUCCEEDED)
    with handoff.handing_off("host:2", 30, "default") as handed, transaction.atomic():
        release.release_concurrency("account:15", 2)
        release.release_concurrency("account:15", 2)
    assert handed.claimed is not None
    assert sorted(run_of(r).status for r in (a, b)) == [Status.QUEUED, Status.RUNNING]


def test_a_cluster_worker_runs_the_whole_key_backlog_by_hand_off():
    running, held = backlog(16, 4)
    succeed(running)  # releases the first held run, as another host's outcome would
    first = held[0]
    cluster._in_cluster_run = first.id
    execute(first.id)
    assert [run_of(r).status for r in held] == [Status.SUCCEEDED] * 4
    assert [run_of(r).attempts for r in held] == [1] * 4


def test_an_error_after_the_outcome_still_starts_the_handed_run():
    first = sample_tasks.fail_per_account.enqueue(account=17)
    second = sample_tasks.one_per_account.enqueue(account=17)
    # `second` waits behind `first` (what admission does to it once `first` runs).
    TaskRun.objects.filter(pk=second.id).update(status=Status.HELD, hold_reason="concurrency",
                                                 hold_key="account:17")
    calls = []

    def explode(sender: Any, task_result: Any, **kwargs: Any) -> None:
        calls.append(task_result.id)
        if task_result.id == first.id:
            raise RuntimeError("a receiver fails after the outcome committed")

    task_finished.connect(explode, dispatch_uid="test-handoff-explode")
    try:
        cluster._in_cluster_run = first.id
        execute(first.id)
    finally:
        task_finished.disconnect(dispatch_uid="test-handoff-explode")
    assert run_of(first).status == Status.FAILED
    assert run_of(second).status == Status.SUCCEEDED and calls == [first.id, second.id]
