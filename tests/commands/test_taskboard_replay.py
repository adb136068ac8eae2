from __future__ import annotations

import uuid

import pytest
from django.core.management import CommandError

from taskboard.models import DeadLetter, Resolution, Status, TaskRun
from tests.commands.conftest import run
from tests.web.api.api_fixtures import failed_run, make_dead_letter, make_run

pytestmark = pytest.mark.django_db


def test_replays_by_run_id() -> None:
    failed = failed_run()
    run("taskboard_replay", str(failed.id))
    assert TaskRun.objects.filter(replay_of=failed).count() == 1


def test_replays_by_dead_letter_id() -> None:
    failed = failed_run()
    run("taskboard_replay", str(DeadLetter.objects.get(run=failed).pk))
    assert TaskRun.objects.filter(replay_of=failed).count() == 1


def test_prints_how_many() -> None:
    failed_run(), failed_run()
    assert run("taskboard_replay", "--all").last_line == "replayed 2 dead-lettered run(s)"


def test_by_task() -> None:
    failed_run()
    make_dead_letter(make_run(task="taskboard.demo.flaky", status=Status.FAILED, kwargs={"fail_times": 9}))
    assert run("taskboard_replay", "--task", "taskboard.demo.flaky").last_line == "replayed 1 dead-lettered run(s)"


def test_resolves_the_dead_letters() -> None:
    failed_run()
    run("taskboard_replay", "--all")
    assert DeadLetter.objects.get().resolution == Resolution.REPLAYED


def test_never_replays_a_run_twice() -> None:
    failed = failed_run()
    run("taskboard_replay", "--all")
    run("taskboard_replay", "--all")
    assert TaskRun.objects.filter(replay_of=failed).count() == 1


def test_dry_run_counts() -> None:
    failed_run(), failed_run()
    assert run("taskboard_replay", "--all", "--dry-run").last_line == "would replay 2 dead-lettered run(s)"


def test_dry_run_replays_nothing() -> None:
    failed_run()
    run("taskboard_replay", "--all", "--dry-run")
    assert TaskRun.objects.count() == 1


@pytest.mark.parametrize("argv", [[], ["--all", "--task", "x"], ["--all", "1"]])
def test_needs_exactly_one_selection(argv: list[str]) -> None:
    with pytest.raises(CommandError, match="exactly one"):
        run("taskboard_replay", *argv)


def test_malformed_id_is_an_error() -> None:
    with pytest.raises(CommandError, match="neither a run id"):
        run("taskboard_replay", "not-an-id")


def test_id_without_open_dead_letter_is_an_error() -> None:
    with pytest.raises(CommandError, match="could not be replayed"):
        run("taskboard_replay", str(uuid.uuid4()))
