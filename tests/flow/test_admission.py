"""Admission, holds and releases in-process (the worker paths are in test_workers)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.tasks import task
from django.tasks.exceptions import InvalidTask
from django.utils import timezone

from taskboard.exceptions import InvalidTaskArguments, LimitExceeded
from taskboard.execution.runner import execute
from taskboard.flow import admission, breakers, pauses, release, status
from taskboard.models import Breaker, BreakerCall, BreakerTransition, Status, TaskAttempt, TaskRun
from taskboard.service import clock
from tests import sample_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def run_of(result: Any) -> TaskRun:
    return TaskRun.objects.get(pk=result.id)


def claim(result: Any) -> TaskRun | None:
    return TaskRun.objects.claim(result.id, "host:1", 30) or admission.claim_or_hold(result.id, "host:1", 30)


def succeed(run: TaskRun) -> None:
    attempt = TaskAttempt(run=run, task=run.task, number=run.attempts, outcome="succeeded",
                          started_at=timezone.now(), finished_at=timezone.now(), worker="host:1")
    assert run.succeed(attempt, None)
    release.after_finish([run])


def test_keys_are_resolved_at_enqueue():
    run = run_of(sample_tasks.one_per_account.enqueue(account=7))
    assert (run.concurrency_key, run.concurrency_limit) == ("account:7", 1)
    plain = run_of(sample_tasks.one_at_a_time.enqueue())
    assert plain.concurrency_key == "tests.sample_tasks.one_at_a_time"
    rated = run_of(sample_tasks.two_per_hour.enqueue(api="github"))
    assert (rated.rate_key, rated.rate_limit) == ("api:github", "2/h")


def test_second_run_of_a_full_key_is_held_and_released_when_the_slot_frees():
    first, second = (sample_tasks.one_per_account.enqueue(account=1) for _ in range(2))
    other = sample_tasks.one_per_account.enqueue(account=2)
    running = claim(first)
    assert running is not None and running.status == Status.RUNNING
    # The held run's message is a token for its queue: it starts the next queued run instead.
    taken = claim(second)
    assert taken is not None and str(taken.pk) == other.id
    held = run_of(second)
    assert (held.status, held.hold_reason, held.hold_key, held.attempts) == (Status.HELD, "concurrency",
                                                                            "account:1", 0)
    assert status.hold_of(held)["key"] == "account:1"
    assert status.hold_sentence(held) == "held: account:1 has 1 of 1 running"
    assert claim(other) is None  # its message finds nothing left to claim
    succeed(running)
    assert run_of(second).status == Status.QUEUED
    assert claim(second) is not None


def test_higher_priority_held_runs_are_released_first():
    first = sample_tasks.one_per_account.enqueue(account=3)
    claimed = claim(first)
    low = sample_tasks.one_per_account.enqueue(account=3)
    high = sample_tasks.one_per_account.using(priority=5).enqueue(account=3)
    assert claim(low) is None  # held; its token then holds the other one too
    assert run_of(high).status == Status.HELD
    assert claimed is not None
    succeed(claimed)
    assert (run_of(high).status, run_of(low).status) == (Status.QUEUED, Status.HELD)


def test_full_execute_path_with_a_limit():
    result = sample_tasks.one_per_account.enqueue(account=9)
    execute(result.id)
    assert run_of(result).status == Status.SUCCEEDED


def test_reject_over_the_limit_writes_nothing():
    sample_tasks.reject_over_two.enqueue(tenant="a")
    sample_tasks.reject_over_two.enqueue(tenant="a")
    with pytest.raises(LimitExceeded, match="tenant:a"):
        sample_tasks.reject_over_two.enqueue(tenant="a")
    assert TaskRun.objects.count() == 2
    sample_tasks.reject_over_two.enqueue(tenant="b")


def test_rate_limit_holds_the_third_start_in_the_window():
    results = [sample_tasks.two_per_hour.enqueue(api="x") for _ in range(3)]
    for result in results:
        execute(result.id)
    assert [run_of(r).status for r in results] == [Status.SUCCEEDED, Status.SUCCEEDED, Status.HELD]
    assert run_of(results[2]).hold_reason == "rate"
    assert clock.release_held() == 0  # the window has not rolled


def test_pause_holds_and_resume_releases():
    pauses.pause("queue", "default", reason="maintenance", actor="ops")
    result = sample_tasks.add.enqueue(1, 2)
    execute(result.id)
    run = run_of(result)
    assert (run.status, run.hold_reason, run.hold_key, run.attempts) == (Status.HELD, "paused", "queue:default", 0)
    assert status.queue_rows()[0]["paused"] is True
    assert pauses.resume("queue", "default") == 1
    execute(result.id)
    assert run_of(result).status == Status.SUCCEEDED


def test_paused_task_only_holds_that_task():
    pauses.pause("task", sample_tasks.add.module_path)
    held, other = sample_tasks.add.enqueue(1, 1), sample_tasks.echo.enqueue(1)
    execute(held.id)
    execute(other.id)
    assert run_of(held).status == Status.HELD and run_of(other).status == Status.SUCCEEDED
    pauses.resume("task", sample_tasks.add.module_path)
    execute(held.id)
    assert run_of(held).status == Status.SUCCEEDED


def test_clock_releases_a_pause_lifted_behind_a_hold():
    pauses.pause("queue", "default")
    result = sample_tasks.add.enqueue(1, 2)
    execute(result.id)
    from taskboard.models import Pause

    Pause.objects.all().delete()  # lifted without releasing (a concurrent resume)
    assert clock.release_held() == 1 and run_of(result).status == Status.QUEUED


def test_priority_run_starts_before_the_backlog():
    backlog = [sample_tasks.add.enqueue(i, 0) for i in range(9)]
    urgent = sample_tasks.add.using(priority=10).enqueue(0, 10)
    execute(backlog[0].id)  # the broker delivers the oldest message first …
    assert run_of(urgent).status == Status.SUCCEEDED  # … which stands for the best run
    assert run_of(backlog[0]).status == Status.QUEUED
    for result in [*backlog, urgent]:  # every message claims exactly one run
        execute(result.id)
    assert TaskRun.objects.filter(status=Status.SUCCEEDED).count() == 10


def test_breaker_opens_holds_without_attempts_and_close_releases():
    failing = [sample_tasks.guarded.enqueue(ok=False) for _ in range(4)]
    for result in failing:
        execute(result.id)
    assert Breaker.objects.get(name="demo-payments").state == "open"
    assert BreakerCall.objects.filter(failed=True).count() == 4
    later = sample_tasks.guarded.enqueue(ok=True)
    execute(later.id)
    held = run_of(later)
    assert (held.status, held.hold_reason, held.hold_key, held.attempts) == (Status.HELD, "breaker",
                                                                            "demo-payments", 0)
    # Retries falling due while it is open are held too, with no attempt spent.
    clock.dispatch_due(timezone.now() + timedelta(seconds=1))
    for result in failing:
        execute(result.id)
    assert all(run_of(r).attempts == 1 and run_of(r).status == Status.HELD for r in failing)
    rows = {r["name"]: r for r in status.breaker_rows()}
    assert rows["demo-payments"]["state"] == "open" and rows["demo-payments"]["held"] == 5
    breakers.force_close("demo-payments", reason="fixed", actor="ops")
    assert BreakerTransition.objects.filter(actor="ops", to_state="closed").exists()
    execute(later.id)
    assert run_of(later).status == Status.SUCCEEDED


def test_half_open_probe_closes_the_breaker():
    breakers.force_open("demo-payments", actor="ops")
    Breaker.objects.filter(name="demo-payments").update(forced=False, retry_at=timezone.now())
    result = sample_tasks.guarded.enqueue(ok=True)
    second = sample_tasks.guarded.enqueue(ok=True)
    execute(result.id)  # the probe
    assert run_of(result).status == Status.SUCCEEDED
    assert Breaker.objects.get(name="demo-payments").state == "closed"
    execute(second.id)
    assert run_of(second).status == Status.SUCCEEDED


def test_permanent_errors_do_not_open_the_breaker():
    for _ in range(5):
        execute(sample_tasks.guarded.enqueue(ok=True, permanent=True).id)
    assert Breaker.objects.get(name="demo-payments").state == "closed"
    assert BreakerCall.objects.filter(failed=False).count() == 5


def test_cancel_a_held_run():
    pauses.pause("queue", "default")
    result = sample_tasks.add.enqueue(1, 2)
    execute(result.id)
    assert run_of(result).cancel_waiting("ops") and run_of(result).status == Status.CANCELLED


def test_limit_utilisation_lists_full_keys():
    claim(sample_tasks.one_per_account.enqueue(account=5))
    claim(sample_tasks.one_per_account.enqueue(account=5))
    assert TaskRun.objects.filter(status=Status.HELD).count() == 1
    rows = status.limit_utilisation()
    assert {"kind": "concurrency", "key": "account:5", "used": 1, "limit": 1, "held": 1} in rows


def target(user_id: int) -> None:
    return None


def kw_target(**kwargs: Any) -> None:
    return None


def _bad(**options: Any) -> None:
    task(**options)(target)


@pytest.mark.parametrize("options,message", [
    ({"concurrency_limit": 0}, "concurrency_limit"),
    ({"concurrency_limit": 1, "concurrency_key": "user:{uid}"}, "unknown argument"),
    ({"concurrency_key": "user:{user_id}"}, "needs concurrency_limit"),
    ({"concurrency_limit": 1, "on_limit": "drop"}, "on_limit"),
    ({"rate_limit": "5/d"}, "rate_limit"),
    ({"breaker": "nope"}, "not configured"),
])
def test_invalid_options_fail_at_decoration(options, message):
    with pytest.raises(InvalidTask, match=message):
        _bad(**options)


def test_key_needing_an_unbound_argument_fails_at_enqueue():
    f = task(concurrency_limit=1, concurrency_key="k:{x}")(kw_target)
    with pytest.raises(InvalidTaskArguments, match="x"):
        f.get_backend().create_run(f, [], {})


def test_a_cluster_worker_hands_its_slot_to_the_run_it_released():
    from taskboard.transport import cluster

    a, b, c = (sample_tasks.one_per_account.enqueue(account=4) for _ in range(3))
    running = claim(a)  # another worker runs a; b and c wait behind it
    assert claim(b) is None and claim(c) is None
    assert running is not None and [run_of(r).status for r in (b, c)] == [Status.HELD, Status.HELD]
    succeed(running)
    assert [run_of(r).status for r in (b, c)] == [Status.QUEUED, Status.HELD]
    cluster._in_cluster_run = b.id  # what django-q2's pre_execute hook sets for a delivered message
    execute(b.id)
    # The slot b freed went straight to c, in this process, without waiting for c's message.
    assert [run_of(r).status for r in (b, c)] == [Status.SUCCEEDED, Status.SUCCEEDED]


def test_a_direct_call_releases_but_does_not_hand_on():
    a, b, c = (sample_tasks.one_per_account.enqueue(account=5) for _ in range(3))
    running = claim(a)
    assert claim(b) is None and claim(c) is None and running is not None
    succeed(running)
    execute(b.id)  # not delivered by a cluster (tests, sync mode)
    assert [run_of(r).status for r in (b, c)] == [Status.SUCCEEDED, Status.QUEUED]
