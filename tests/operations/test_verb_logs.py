"""Every operator verb on a run logs one line naming the run and who acted. Retry now and Run
now have no audit record yet (there is no audit model): this line is their only trace."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard import operations
from taskboard.models import Status
from tests.factories import failed_run, make_run

pytestmark = pytest.mark.django_db


def later():
    return timezone.now() + timedelta(hours=1)


@pytest.mark.parametrize(("verb", "status", "event"), [
    (operations.cancel, Status.QUEUED, "run cancel"),
    (operations.replay, Status.FAILED, "run replayed"),
    (operations.retry_now, Status.RETRYING, "run retry now"),
    (operations.run_now, Status.SCHEDULED, "run run now"),
])
def test_a_verb_logs_the_run_and_the_actor(verb, status, event, operator, caplog):
    run = failed_run() if status == Status.FAILED else make_run(status, run_after=later())
    with caplog.at_level(logging.INFO, logger="taskboard.operations"):
        verb(run.pk, user=operator)
    lines = [r.msg for r in caplog.records if isinstance(r.msg, dict) and r.msg.get("event") == event]
    assert [(line["run_id"], line["by"]) for line in lines] == [(str(run.pk), "operator")]
