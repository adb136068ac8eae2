"""taskboard.conf: settings.TASKBOARD values are validated where they are read."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from taskboard.conf import conf


def test_defaults_apply_when_unset(settings):
    settings.TASKBOARD = {}
    assert conf.OUTCOME_BATCH_SECONDS == 0.02
    assert conf.LEASE_SECONDS == 15.0


def test_numbers_are_read_from_strings(settings):
    settings.TASKBOARD = {"LEASE_SECONDS": "30"}
    assert conf.LEASE_SECONDS == 30.0


@pytest.mark.parametrize("value", ["soon", None, [1]])
def test_a_non_number_is_named_in_the_error(settings, value):
    settings.TASKBOARD = {"LEASE_SECONDS": value}
    with pytest.raises(ImproperlyConfigured, match="LEASE_SECONDS.*must be a number"):
        _ = conf.LEASE_SECONDS


@pytest.mark.parametrize("value", [0, -1])
def test_durations_must_be_positive(settings, value):
    settings.TASKBOARD = {"LEASE_SECONDS": value}
    with pytest.raises(ImproperlyConfigured, match="LEASE_SECONDS.*must be positive"):
        _ = conf.LEASE_SECONDS


def test_the_group_commit_window_may_be_zero_but_not_negative(settings):
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": 0}
    assert conf.OUTCOME_BATCH_SECONDS == 0.0
    settings.TASKBOARD = {"OUTCOME_BATCH_SECONDS": -0.5}
    with pytest.raises(ImproperlyConfigured, match="OUTCOME_BATCH_SECONDS.*must be zero or positive"):
        _ = conf.OUTCOME_BATCH_SECONDS
