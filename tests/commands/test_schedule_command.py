"""taskboard_schedule: list, add, pause, resume, run (the run id last), remove; one-line errors."""

from __future__ import annotations

import json

import pytest
from django.core.management.base import CommandError

from taskboard.models import AuditEvent, Schedule, TaskRun, Via
from tests import sample_tasks  # noqa: F401 - registers tests.sample_tasks.add
from tests.commands.conftest import run

pytestmark = pytest.mark.django_db

NOOP = "taskboard.demo.noop"


def test_add_list_and_the_json_is_the_apis() -> None:
    out = run("taskboard_schedule", "add", "nightly", NOOP, "--cron", "0 3 * * *", "--timezone", "Europe/Berlin")
    assert out.last_line.startswith("schedule nightly added: At 03:00 (Europe/Berlin); first run at ")
    rows = json.loads(run("taskboard_schedule", "list", "--json").out)["results"]
    assert [(r["name"], r["cron"], r["timezone"]) for r in rows] == [("nightly", "0 3 * * *", "Europe/Berlin")]
    assert "nightly" in run("taskboard_schedule", "list").out
    assert AuditEvent.objects.get().via == Via.CLI


def test_pause_resume_run_remove() -> None:
    run("taskboard_schedule", "add", "beat", "tests.sample_tasks.add", "--every", "60", "--kwargs", '{"a": 1, "b": 2}')
    assert run("taskboard_schedule", "pause", "beat").last_line == "schedule beat paused"
    assert Schedule.objects.get().paused
    assert run("taskboard_schedule", "resume", "beat").last_line.startswith("schedule beat resumed; next run at ")
    run_id = run("taskboard_schedule", "run", "beat").last_line
    created = TaskRun.objects.get(pk=run_id)
    assert (created.schedule, created.kwargs) == ("beat", {"a": 1, "b": 2})
    assert run("taskboard_schedule", "remove", "beat").last_line == "schedule beat removed"
    assert not Schedule.objects.exists()


def test_no_schedules() -> None:
    assert run("taskboard_schedule", "list").last_line == "no schedules"


@pytest.mark.parametrize("args", [
    ("add", "x", NOOP),  # neither --cron nor --every
    ("add", "x", NOOP, "--cron", "* * * * *", "--every", "5"),
    ("add", "x", NOOP, "--cron", "* * * *"),
    ("add", "x", NOOP, "--every", "0"),
    ("add", "x", NOOP, "--every", "soon"),
    ("add", "x", "no.such.task", "--every", "5"),
    ("add", "bad name", NOOP, "--every", "5"),
    ("add", "x", NOOP, "--every", "5", "--timezone", "Mars/Olympus"),
    ("add", "x", NOOP, "--every", "5", "--kwargs", "{not json"),
    ("add", "x", NOOP, "--every", "5", "--kwargs", '{"surprise": 1}'),
    ("pause", "nope"),
    ("run", "nope"),
    ("remove", "nope"),
    ("explode",),
])
def test_bad_input_is_a_one_line_error_and_writes_nothing(args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError) as error:
        run("taskboard_schedule", *args)
    assert "\n" not in str(error.value).strip()
    assert not Schedule.objects.exists() and not TaskRun.objects.exists() and not AuditEvent.objects.exists()


def test_a_taken_name_is_an_error() -> None:
    run("taskboard_schedule", "add", "x", NOOP, "--every", "5")
    with pytest.raises(CommandError, match="already exists"):
        run("taskboard_schedule", "add", "x", NOOP, "--every", "9")
