"""TASKBOARD_SCHEDULES: validated with clear errors, synced to rows (created, updated,
removed), the operator's pause kept; the built-in retention schedule."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from taskboard import operations
from taskboard.exceptions import OperationError
from taskboard.models import Schedule, ScheduleSource
from taskboard.schedules import retention, settings_sync
from tests import sample_tasks  # noqa: F401 - registers tests.sample_tasks.add
from tests.schedules.conftest import NOOP

pytestmark = pytest.mark.django_db

NIGHTLY = {"task": "tests.sample_tasks.add", "cron": "0 3 * * *", "timezone": "Europe/Berlin",
           "kwargs": {"a": 1, "b": 2}}


@pytest.fixture(autouse=True)
def no_retention(settings):
    settings.TASKBOARD = {**settings.TASKBOARD, "RETENTION_DAYS": 0}


def test_declared_schedules_are_created_then_left_alone(settings):
    settings.TASKBOARD_SCHEDULES = {"nightly": NIGHTLY, "beat": {"task": NOOP, "every": 60}}
    assert sorted(settings_sync.sync().created) == ["beat", "nightly"]
    nightly = Schedule.objects.get(name="nightly")
    assert (nightly.source, nightly.cron, nightly.timezone, nightly.kwargs) == (
        ScheduleSource.SETTINGS, "0 3 * * *", "Europe/Berlin", {"a": 1, "b": 2})
    assert nightly.next_run_at is not None
    before = Schedule.objects.get(name="beat").next_run_at
    again = settings_sync.sync()
    assert (again.created, again.updated, again.removed) == ([], [], [])
    assert Schedule.objects.get(name="beat").next_run_at == before  # a restart keeps the phase


def test_a_changed_definition_is_updated_and_a_pause_kept(settings):
    settings.TASKBOARD_SCHEDULES = {"nightly": NIGHTLY}
    settings_sync.sync()
    operations.pause_schedule("nightly")
    settings.TASKBOARD_SCHEDULES = {"nightly": {**NIGHTLY, "cron": "0 4 * * *"}}
    assert settings_sync.sync().updated == ["nightly"]
    row = Schedule.objects.get(name="nightly")
    assert (row.cron, row.paused) == ("0 4 * * *", True)


def test_a_schedule_removed_from_settings_is_removed_runtime_ones_stay(settings):
    settings.TASKBOARD_SCHEDULES = {"nightly": NIGHTLY}
    settings_sync.sync()
    operations.add_schedule("mine", NOOP, every=5)
    settings.TASKBOARD_SCHEDULES = {}
    assert settings_sync.sync().removed == ["nightly"]
    assert list(Schedule.objects.values_list("name", flat=True)) == ["mine"]


def test_settings_take_over_a_runtime_schedule_of_that_name(settings):
    operations.add_schedule("nightly", NOOP, every=5)
    settings.TASKBOARD_SCHEDULES = {"nightly": NIGHTLY}
    assert settings_sync.sync().updated == ["nightly"]
    assert Schedule.objects.get().source == ScheduleSource.SETTINGS


def test_a_settings_schedule_cannot_be_removed_at_run_time(settings):
    settings.TASKBOARD_SCHEDULES = {"nightly": NIGHTLY}
    settings_sync.sync()
    with pytest.raises(OperationError, match="declared in settings"):
        operations.remove_schedule("nightly")


@pytest.mark.parametrize(("entry", "message"), [
    ({"task": NOOP}, "exactly one of cron"),
    ({"task": NOOP, "cron": "* * * * *", "every": 5}, "exactly one of cron"),
    ({"task": "no.such.task", "every": 5}, "unknown task 'no.such.task'"),
    ({"task": NOOP, "cron": "0 0 * * * *"}, "must have 5 fields"),
    ({"task": NOOP, "every": 0}, "every must be from 1"),
    ({"task": NOOP, "every": 5, "timezone": "Mars/Olympus"}, "not a known IANA time zone"),
    ({"task": NOOP, "every": 5, "queue": "nope"}, "unknown queue 'nope'"),
    ({"task": NOOP, "every": 5, "kwargs": {"x": 1}}, "arguments do not match"),
    ({"task": NOOP, "every": 5, "misfire": "later"}, "misfire must be one of skip, run_once"),
    ({"task": NOOP, "every": 5, "when": "now"}, "unknown key 'when'"),
    ("0 * * * *", "must be a mapping"),
])
def test_bad_declarations_stop_start_up_naming_the_schedule(settings, entry, message):
    settings.TASKBOARD_SCHEDULES = {"broken": entry}
    with pytest.raises(ImproperlyConfigured, match=message) as error:
        settings_sync.sync()
    assert "TASKBOARD_SCHEDULES['broken']" in str(error.value)
    assert not Schedule.objects.exists()


def test_a_bad_name_is_refused(settings):
    settings.TASKBOARD_SCHEDULES = {"no spaces please": {"task": NOOP, "every": 5}}
    with pytest.raises(ImproperlyConfigured, match="may only contain"):
        settings_sync.declared()


def test_the_system_check_reports_a_bad_schedule(settings):
    settings.TASKBOARD_SCHEDULES = {"broken": {"task": NOOP, "every": -1}}
    with pytest.raises(SystemCheckError, match="taskboard.E101"):
        call_command("check")


def test_retention_is_a_builtin_settings_schedule(settings):
    settings.TASKBOARD = {**settings.TASKBOARD, "RETENTION_DAYS": 14}
    settings_sync.sync()
    row = Schedule.objects.get(name=retention.NAME)
    assert (row.task, row.cron, row.kwargs, row.overlap, row.source) == (
        "taskboard.schedules.retention.prune", "7 * * * *", {"older_than_days": 14.0}, "skip", "settings")
    settings.TASKBOARD = {**settings.TASKBOARD, "RETENTION_DAYS": 0}
    assert settings_sync.sync().removed == [retention.NAME]


@pytest.mark.parametrize("days", [-1, 40_000])
def test_retention_days_are_validated(settings, days):
    settings.TASKBOARD = {**settings.TASKBOARD, "RETENTION_DAYS": days}
    with pytest.raises(ImproperlyConfigured, match="RETENTION_DAYS"):
        settings_sync.declared()
