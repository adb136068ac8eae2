"""Retention: the built-in prune task deletes old finished runs in small batches, never a run
with an open dead letter, and old schedule fire rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard.models import DeadLetter, FireOutcome, ScheduleFire, Status, TaskAttempt, TaskRun, pruning
from taskboard.schedules import retention
from tests.factories import enqueue, executed, make_attempt, make_failed, make_run
from tests.schedules.conftest import add

pytestmark = pytest.mark.django_db

DAY = 86400


@pytest.fixture
def history() -> dict[str, TaskRun]:
    """Runs around a 30-day cutoff."""
    old = {f"old{i}": make_run(Status.SUCCEEDED, ago=40 * DAY) for i in range(5)}
    for run in old.values():
        make_attempt(run, outcome="succeeded", finished_at=run.finished_at)
    resolved = make_failed(ago=40 * DAY)
    DeadLetter.objects.filter(run=resolved).update(resolved_at=timezone.now(), resolution="discarded")
    return {
        **old,
        "resolved": resolved,
        "open_dead_letter": make_failed(ago=40 * DAY),
        "cancelled": make_run(Status.CANCELLED, ago=40 * DAY),
        "still_queued": make_run(Status.QUEUED, ago=40 * DAY),
        "recent": make_run(Status.SUCCEEDED, ago=2 * DAY),
    }


def test_prunes_in_batches_and_keeps_open_dead_letters(history):
    batches: list[int] = []
    deleted = pruning.delete_runs_before(timezone.now() - timedelta(days=30), batch=3,
                                         between=lambda n: batches.append(n) or True)
    assert (deleted, batches) == (7, [3, 6, 7])
    left = set(TaskRun.objects.values_list("pk", flat=True))
    assert left == {history[k].pk for k in ("open_dead_letter", "still_queued", "recent")}
    assert DeadLetter.objects.get().run_id == history["open_dead_letter"].pk
    assert not TaskAttempt.objects.exclude(run_id__in=left).exists()


def test_the_retention_task_runs_through_the_normal_run_path(history, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    monkeypatch.setattr(retention, "PAUSE_SECONDS", 0)
    schedule = add(every=60)
    ScheduleFire.objects.create(schedule=schedule, fire_at=timezone.now() - timedelta(days=31),
                                outcome=FireOutcome.ENQUEUED)
    ScheduleFire.objects.create(schedule=schedule, fire_at=timezone.now(), outcome=FireOutcome.ENQUEUED)
    run = executed(enqueue("taskboard.schedules.retention.prune", older_than_days=30))
    assert (run.status, run.result) == (Status.SUCCEEDED, {"runs": 7, "fires": 1})
    assert run.progress == 100
    assert TaskRun.objects.filter(pk=history["open_dead_letter"].pk).exists()
    assert ScheduleFire.objects.count() == 1


def test_a_nonsense_age_fails_permanently():
    run = executed(enqueue("taskboard.schedules.retention.prune", older_than_days=0))
    assert run.status == Status.FAILED and "older_than_days" in run.last_error


def test_open_dead_letters_are_never_pruned_even_with_a_zero_cutoff():
    failed = make_failed(ago=DAY)  # with its open dead letter
    assert pruning.delete_runs_before(timezone.now()) == 0
    assert TaskRun.objects.filter(pk=failed.pk).exists()
