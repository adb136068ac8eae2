from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError
from django.utils import timezone

from taskboard.models import DeadLetter, Status, TaskAttempt, TaskRun
from tests.commands.conftest import run
from tests.web.api.api_fixtures import make_attempt, make_dead_letter, make_run

pytestmark = pytest.mark.django_db


def _old(status: str = Status.SUCCEEDED, days: int = 40) -> TaskRun:
    return make_run(status=status, finished_at=timezone.now() - timedelta(days=days))


def test_deletes_old_finished_runs() -> None:
    _old(), _old(Status.CANCELLED)
    run("taskboard_prune", "--older-than", "30")
    assert not TaskRun.objects.exists()


def test_deletes_their_attempts() -> None:
    make_attempt(_old(), 1, "succeeded")
    run("taskboard_prune", "--older-than", "30")
    assert not TaskAttempt.objects.exists()


def test_prints_how_many() -> None:
    _old(), _old()
    assert run("taskboard_prune", "--older-than", "30").last_line == "deleted 2 finished run(s) older than 30 day(s)"


def test_keeps_recent_runs() -> None:
    _old(days=5)
    run("taskboard_prune", "--older-than", "30")
    assert TaskRun.objects.count() == 1


def test_keeps_open_runs() -> None:
    make_run(status=Status.QUEUED, enqueued_at=timezone.now() - timedelta(days=90))
    run("taskboard_prune", "--older-than", "30")
    assert TaskRun.objects.count() == 1


def test_keeps_runs_with_open_dead_letters() -> None:
    make_dead_letter(_old(Status.FAILED))
    run("taskboard_prune", "--older-than", "30")
    assert DeadLetter.objects.count() == 1


def test_dry_run_deletes_nothing() -> None:
    _old()
    out = run("taskboard_prune", "--older-than", "30", "--dry-run").last_line
    assert (out, TaskRun.objects.count()) == ("would delete 1 finished run(s) older than 30 day(s)", 1)


@pytest.mark.parametrize("days", ["-1", "nan", "1e9"])
def test_bad_days_is_an_error(days: str) -> None:
    with pytest.raises(CommandError, match="--older-than"):
        run("taskboard_prune", "--older-than", days)


def test_days_are_required() -> None:
    with pytest.raises(CommandError, match="--older-than"):
        run("taskboard_prune")
