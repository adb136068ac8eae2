"""The clock's schedule tick, in-process with a fixed clock: exactly once per fire time,
misfire and overlap policies, pause, a run that cannot be created."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from taskboard import operations
from taskboard.models import FireOutcome, Schedule, ScheduleFire, Status, TaskRun
from taskboard.schedules import firing
from tests.schedules.conftest import NOOP, T0, add

pytestmark = pytest.mark.django_db


def seconds(n: float) -> timedelta:
    return timedelta(seconds=n)


def test_nothing_due_costs_one_query(django_assert_num_queries):
    add(next_run_at=T0 + seconds(60))
    with django_assert_num_queries(1):
        outcome = firing.tick(T0)
    assert (outcome.fired, outcome.next_fire_at) == (0, T0 + seconds(60))


def test_a_due_schedule_fires_once_and_moves_on():
    schedule = add(kwargs={}, cron=None, every=60)
    outcome = firing.tick(T0 + seconds(0.2))
    assert outcome.fired == 1
    fire = ScheduleFire.objects.get()
    run = TaskRun.objects.get()
    assert (fire.fire_at, fire.run_id, fire.outcome) == (T0, run.pk, FireOutcome.ENQUEUED)
    assert (run.task, run.schedule, run.status) == (NOOP, "s1", Status.QUEUED)
    assert len(run.correlation_id) == 32
    schedule.refresh_from_db()
    assert (schedule.next_run_at, schedule.last_run_id, schedule.last_fired_at) == (
        T0 + seconds(60), str(run.pk), T0 + seconds(0.2))
    assert firing.tick(T0 + seconds(0.3)).fired == 0
    assert TaskRun.objects.count() == 1


def test_a_fire_time_already_fired_elsewhere_creates_no_run():
    """What a second host meets: the unique (schedule, fire_at) row refuses it and the run it
    created in the same savepoint is rolled back."""
    schedule = add()
    assert schedule.fire(T0, T0, lambda: firing.enqueue_for(schedule)) is not None
    assert schedule.fire(T0, T0, lambda: firing.enqueue_for(schedule)) is None
    assert TaskRun.objects.count() == 1 and ScheduleFire.objects.count() == 1


def test_a_late_clock_catches_up_every_fire_time():
    add()
    assert firing.tick(T0 + seconds(4.5)).fired == 5
    times = list(ScheduleFire.objects.order_by("fire_at").values_list("fire_at", flat=True))
    assert times == [T0 + seconds(s) for s in range(5)]
    assert TaskRun.objects.filter(schedule="s1").count() == 5


def test_misfire_skip_jumps_to_the_next_future_fire_time():
    schedule = add(cron="*/5 * * * *", every=None)
    firing.tick(T0 + timedelta(hours=2, seconds=40))
    assert not TaskRun.objects.exists()
    schedule.refresh_from_db()
    assert schedule.next_run_at == T0 + timedelta(hours=2, minutes=5)


def test_misfire_run_once_fires_one_run_for_the_missed_period():
    schedule = add(cron="*/5 * * * *", every=None, misfire="run_once")
    firing.tick(T0 + timedelta(hours=2, seconds=40))
    fire = ScheduleFire.objects.get()
    assert (fire.fire_at, fire.outcome) == (T0, FireOutcome.ENQUEUED)
    assert "25 missed" in fire.note
    assert TaskRun.objects.count() == 1
    schedule.refresh_from_db()
    assert schedule.next_run_at == T0 + timedelta(hours=2, minutes=5)


def test_overlap_skip_records_a_skipped_fire_while_the_previous_run_is_open():
    add(overlap="skip", every=10)
    firing.tick(T0)
    first = TaskRun.objects.get()
    firing.tick(T0 + seconds(10))
    skipped = ScheduleFire.objects.get(fire_at=T0 + seconds(10))
    assert (skipped.outcome, skipped.run_id) == (FireOutcome.SKIPPED, None)
    assert str(first.pk) in skipped.note
    assert TaskRun.objects.count() == 1
    TaskRun.objects.filter(pk=first.pk).update(status=Status.SUCCEEDED, finished_at=T0 + seconds(11))
    firing.tick(T0 + seconds(20))
    assert TaskRun.objects.count() == 2


def test_overlap_allow_enqueues_while_the_previous_run_is_open():
    add(every=10)
    firing.tick(T0)
    firing.tick(T0 + seconds(10))
    assert TaskRun.objects.filter(status=Status.QUEUED).count() == 2


def test_a_paused_schedule_does_not_fire_and_resumes_from_now():
    add(every=10)
    operations.pause_schedule("s1")
    assert firing.tick(T0 + seconds(100)).fired == 0
    before = timezone.now()
    resumed = operations.resume_schedule("s1")
    assert resumed.next_run_at is not None and before < resumed.next_run_at <= before + seconds(10)
    assert not ScheduleFire.objects.exists()


def test_a_run_that_cannot_be_created_is_a_failed_fire_and_the_schedule_moves_on():
    schedule = add(every=10)
    Schedule.objects.filter(pk=schedule.pk).update(kwargs={"unexpected": 1})
    outcome = firing.tick(T0)
    fire = ScheduleFire.objects.get()
    assert (outcome.failed, fire.outcome, fire.run_id) == (1, FireOutcome.FAILED, None)
    assert "unexpected" in fire.note
    schedule.refresh_from_db()
    assert schedule.next_run_at == T0 + seconds(10)


def test_the_run_is_pushed_only_when_the_tick_commits(monkeypatch):
    pushed: list[str] = []
    monkeypatch.setattr("taskboard.transport.push.push", lambda run_id, queue: pushed.append(str(run_id)))
    add()
    with transaction.atomic():
        firing.tick(T0)
        assert pushed == []
        transaction.set_rollback(True)
    assert not TaskRun.objects.exists() and not ScheduleFire.objects.exists()


def test_overdue_names_schedules_no_clock_fired():
    add("late")
    add("soon", next_run_at=T0 + seconds(600))
    assert list(Schedule.objects.overdue(T0 + seconds(120), 60).values_list("name", flat=True)) == ["late"]


@pytest.mark.parametrize(("first", "expected"), [
    # Europe/Berlin springs forward on 2026-03-29: 02:30 does not exist and fires at 03:00 CEST.
    (datetime(2026, 3, 28, 1, 30, tzinfo=UTC),
     [datetime(2026, 3, 28, 1, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
      datetime(2026, 3, 30, 0, 30, tzinfo=UTC)]),
    # It falls back on 2026-10-25: 02:30 happens twice and fires once, at the first (CEST).
    (datetime(2026, 10, 24, 0, 30, tzinfo=UTC),
     [datetime(2026, 10, 24, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
      datetime(2026, 10, 26, 1, 30, tzinfo=UTC)]),
])
def test_a_cron_schedule_fires_at_the_right_instants_across_dst(first, expected):
    """A fixed clock ticks every half hour across the change (on :00 and :30, where these
    fire times fall, so none is late); each fire time fires once, at its instant."""
    add(cron="30 2 * * *", every=None, timezone="Europe/Berlin", next_run_at=first)
    now = first
    while now <= expected[-1]:
        firing.tick(now)
        now += timedelta(minutes=30)
    assert list(ScheduleFire.objects.order_by("fire_at").values_list("fire_at", flat=True)) == expected
    assert TaskRun.objects.count() == 3
