"""What a failure is: an attempt that neither succeeded nor was cancelled by an operator. The
model's ``is_error``, the failure groups' condition and the partial index all say the same."""

import pytest

from taskboard.models import Outcome, Status, TaskAttempt
from taskboard.models.attempts import FAILED
from taskboard.readmodels.failures import FAILED_ATTEMPT
from tests.factories import make_attempt, make_run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_failure_is_neither_a_success_nor_a_cancel(outcome):
    attempt = TaskAttempt(outcome=outcome)
    assert attempt.is_error == (outcome not in (Outcome.SUCCEEDED, Outcome.CANCELLED))


def test_is_error_picks_the_attempts_the_failure_groups_count():
    run = make_run(Status.FAILED)
    attempts = [make_attempt(run, number, outcome) for number, outcome in enumerate(Outcome, 1)]
    counted = set(TaskAttempt.objects.filter(FAILED_ATTEMPT).values_list("pk", flat=True))
    assert counted == {a.pk for a in attempts if a.is_error}
    assert set(TaskAttempt.objects.filter(FAILED).values_list("pk", flat=True)) == counted


def test_the_failure_index_has_exactly_the_failure_groups_condition():
    # A partial index answers a query only when the query implies its condition: the same
    # condition, term for term, lets PostgreSQL scan the index alone.
    [index] = [i for i in TaskAttempt._meta.indexes if i.name == "attempt_failures"]
    assert index.condition == FAILED == FAILED_ATTEMPT
