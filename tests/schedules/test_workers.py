"""Schedules fired by the clocks of two real ``taskboard_worker`` hosts (SQLite + ORM broker, or
PostgreSQL + Redis with DATABASE_URL/TASKBOARD_BROKER_URL): exactly one run per fire time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Max

from taskboard import operations
from taskboard.models import FireOutcome, Schedule, ScheduleFire, Status, TaskRun, WorkerNode
from tests.execution.workers import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.workers]

NOOP = "taskboard.demo.noop"


def test_every_second_fires_once_per_fire_time_across_two_hosts(start_worker):
    start_worker()
    start_worker()
    schedule = operations.add_schedule("beat", NOOP, every=1)
    wait_for(lambda: ScheduleFire.objects.filter(schedule=schedule).count() >= 8, timeout=90, interval=0.2,
             message="8 fire times of an every-1-second schedule")
    paused = operations.pause_schedule("beat")
    fires = list(ScheduleFire.objects.filter(schedule=schedule).order_by("fire_at"))
    times = [fire.fire_at for fire in fires]
    # One row per fire time (the unique constraint), and no gap: each one second after the last.
    assert len(set(times)) == len(times) >= 8
    assert [b - a for a, b in zip(times, times[1:], strict=False)] == [timedelta(seconds=1)] * (len(times) - 1)
    assert {fire.outcome for fire in fires} == {FireOutcome.ENQUEUED}
    # One run per fire time, each named after the schedule, and every one of them executes.
    run_ids = {fire.run_id for fire in fires}
    assert None not in run_ids
    assert set(TaskRun.objects.filter(schedule="beat").values_list("pk", flat=True)) == run_ids
    wait_for(lambda: TaskRun.objects.filter(pk__in=run_ids, status=Status.SUCCEEDED).count() == len(run_ids),
             timeout=60, interval=0.2, message="the scheduled runs to finish")
    # Paused: once both clocks have ticked well past the next fire time, nothing more fired.
    assert paused.paused_at is not None
    horizon = paused.paused_at + timedelta(seconds=3)
    wait_for(lambda: WorkerNode.objects.filter(stopped_at__isnull=True, last_seen__gt=horizon).count() == 2,
             timeout=30, interval=0.2, message="both clocks to tick past the pause")
    assert ScheduleFire.objects.filter(schedule=schedule).count() == len(fires)
    assert ScheduleFire.objects.aggregate(Max("fire_at"))["fire_at__max"] == times[-1]
    assert Schedule.objects.get(pk=schedule.pk).paused
    print("fired by:", sorted({fire.fired_by for fire in fires}),  # noqa: T201 - context for a failure report
          "lateness ms:", sorted(round((f.fired_at - f.fire_at).total_seconds() * 1000) for f in fires))
