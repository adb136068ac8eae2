from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.core.management import CommandError

from taskboard.models import Status, TaskRun
from tests.commands.conftest import run
from tests.web.api.api_fixtures import enqueue, make_run, succeeded_run


@pytest.mark.django_db
def test_cancels_a_queued_run() -> None:
    queued = enqueue()
    run("taskboard_cancel", str(queued.id))
    assert TaskRun.objects.get(pk=queued.pk).status == Status.CANCELLED


@pytest.mark.django_db
def test_cancels_several() -> None:
    first, second = enqueue(), enqueue()
    run("taskboard_cancel", str(first.id), str(second.id))
    assert set(TaskRun.objects.values_list("status", flat=True)) == {Status.CANCELLED}


@pytest.mark.django_db
def test_asks_a_running_run_to_stop() -> None:
    running = make_run(status=Status.RUNNING, attempts=1)
    assert "cancel requested" in run("taskboard_cancel", str(running.id)).out


@pytest.mark.django_db
def test_unknown_run_is_an_error() -> None:
    with pytest.raises(CommandError, match="1 of 1 run"):
        run("taskboard_cancel", str(uuid.uuid4()))


@pytest.mark.django_db
def test_finished_run_is_an_error() -> None:
    done = succeeded_run()
    with pytest.raises(CommandError, match="could not be cancelled"):
        run("taskboard_cancel", str(done.id))


@pytest.mark.django_db
def test_other_runs_are_still_cancelled_when_one_fails() -> None:
    queued = enqueue()
    with pytest.raises(CommandError):
        run("taskboard_cancel", str(uuid.uuid4()), str(queued.id))
    assert TaskRun.objects.get(pk=queued.pk).status == Status.CANCELLED


@pytest.mark.django_db
def test_malformed_id_cancels_nothing() -> None:
    queued = enqueue()
    with pytest.raises(CommandError, match="'nope' is not a run id"):
        run("taskboard_cancel", str(queued.id), "nope")
    assert TaskRun.objects.get(pk=queued.pk).status == Status.QUEUED


def test_bad_input_exits_non_zero_with_one_line() -> None:
    done = subprocess.run([sys.executable, "manage.py", "taskboard_cancel", "nope"], cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stderr) == (1, "CommandError: 'nope' is not a run id (a UUID)\n")
