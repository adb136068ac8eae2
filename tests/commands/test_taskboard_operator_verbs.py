"""taskboard_retry_now, taskboard_run_now, taskboard_discard and taskboard_failures."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import CommandError
from django.utils import timezone

from taskboard.models import DeadLetter, Resolution, Status, TaskRun
from tests.commands.conftest import run
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import failed_run, make_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_failure_groups")]


def later() -> Any:
    return timezone.now() + timedelta(hours=1)


def test_retry_now_queues_retrying_runs() -> None:
    first, second = make_run(status=Status.RETRYING, run_after=later()), make_run(status=Status.RETRYING,
                                                                                   run_after=later())
    out = run("taskboard_retry_now", str(first.id), str(second.id)).out
    assert set(TaskRun.objects.values_list("status", flat=True)) == {Status.QUEUED}
    assert f"{first.id}: queued (attempt 2 of 3)" in out


def test_retry_now_reports_runs_in_other_states_and_still_does_the_rest() -> None:
    retrying, queued = make_run(status=Status.RETRYING, run_after=later()), make_run(status=Status.QUEUED)
    with pytest.raises(CommandError, match="1 of 2 run"):
        run("taskboard_retry_now", str(queued.id), str(retrying.id))
    assert TaskRun.objects.get(pk=retrying.pk).status == Status.QUEUED


def test_run_now_queues_a_scheduled_run() -> None:
    scheduled = make_run(status=Status.SCHEDULED, run_after=later())
    assert run("taskboard_run_now", str(scheduled.id)).last_line == f"{scheduled.id}: queued"
    assert TaskRun.objects.get(pk=scheduled.pk).status == Status.QUEUED


@pytest.mark.parametrize("command", ["taskboard_run_now", "taskboard_retry_now"])
def test_bad_or_unknown_ids_are_errors(command: str) -> None:
    with pytest.raises(CommandError, match="is not a run id"):
        run(command, "nope")
    with pytest.raises(CommandError, match="1 of 1 run"):
        run(command, str(uuid.uuid4()))


def test_discard_by_id_keeps_the_run_failed() -> None:
    chosen, other = failed_run(), failed_run()
    letter = DeadLetter.objects.get(run=chosen)
    assert run("taskboard_discard", str(letter.pk)).last_line == "discarded 1 dead letter(s)"
    assert DeadLetter.objects.get(pk=letter.pk).resolution == Resolution.DISCARDED
    assert DeadLetter.objects.get(run=other).is_open
    assert not TaskRun.objects.filter(replay_of=chosen).exists()


def test_discard_dry_run_and_all() -> None:
    failed_run(), failed_run()
    assert run("taskboard_discard", "--all", "--dry-run").last_line == "would discard 2 dead letter(s)"
    assert DeadLetter.objects.unresolved().count() == 2
    assert run("taskboard_discard", "--task", "taskboard.demo.fail").last_line == "discarded 2 dead letter(s)"


def test_discard_of_an_id_without_open_letter_is_an_error() -> None:
    with pytest.raises(CommandError, match="no open dead letter"):
        run("taskboard_discard", str(uuid.uuid4()))
    with pytest.raises(CommandError, match="exactly one"):
        run("taskboard_discard")


def test_failures_lists_groups_as_text_and_json() -> None:
    failed_run("card declined for order 1"), failed_run("card declined for order 2")
    text = run("taskboard_failures").out
    assert "taskboard.demo.fail  PermanentError: card declined for order" in text
    [group] = json.loads(run("taskboard_failures", "list", "--json").out)["results"]
    assert (group["count_7d"], group["kind"]) == (2, "permanent")


def test_failures_replay_a_group() -> None:
    failed = failed_run()
    fingerprint = failed.attempt_set.get().fingerprint
    assert run("taskboard_failures", "replay", fingerprint).last_line == "replayed 1 dead-lettered run(s)"
    assert TaskRun.objects.filter(replay_of=failed).count() == 1


@pytest.mark.parametrize("args", [("replay",), ("replay", "XYZ"), ("replay", "0123456789abcdef"), ("list", "abc")])
def test_failures_bad_input_is_an_error(args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        run("taskboard_failures", *args)


def test_enqueue_with_a_priority() -> None:
    run_id = run("taskboard_enqueue", "taskboard.demo.noop", "--priority", "-20").last_line
    assert TaskRun.objects.get(pk=run_id).priority == -20
    with pytest.raises(CommandError, match="priority"):
        run("taskboard_enqueue", "taskboard.demo.noop", "--priority", "500")
