from __future__ import annotations

import pytest
from django.core.management import CommandError

from taskboard.models import Status, TaskRun
from tests.commands.conftest import run

pytestmark = pytest.mark.django_db


def test_prints_the_run_id_as_the_last_line() -> None:
    run_id = run("taskboard_enqueue", "taskboard.demo.noop").last_line
    assert TaskRun.objects.get().id.hex == run_id.replace("-", "")


def test_kwargs() -> None:
    run_id = run("taskboard_enqueue", "taskboard.demo.sleep", "--kwargs", '{"seconds": 2}').last_line
    assert TaskRun.objects.get(pk=run_id).kwargs == {"seconds": 2}


def test_args() -> None:
    run_id = run("taskboard_enqueue", "taskboard.demo.sleep", "--args", "[1.5]").last_line
    assert TaskRun.objects.get(pk=run_id).args == [1.5]


def test_queue() -> None:
    run_id = run("taskboard_enqueue", "taskboard.demo.noop", "--queue", "default").last_line
    assert TaskRun.objects.get(pk=run_id).queue == "default"


def test_run_after_schedules() -> None:
    run_id = run("taskboard_enqueue", "taskboard.demo.noop", "--run-after", "2099-01-01T00:00:00+00:00").last_line
    assert TaskRun.objects.get(pk=run_id).status == Status.SCHEDULED


def test_idempotency_key_returns_the_same_run() -> None:
    first = run("taskboard_enqueue", "taskboard.demo.noop", "--idempotency-key", "k1").last_line
    second = run("taskboard_enqueue", "taskboard.demo.noop", "--idempotency-key", "k1").last_line
    assert (first, TaskRun.objects.count()) == (second, 1)


@pytest.mark.parametrize(("argv", "message"), [
    (["nope.task"], "unknown task 'nope.task'"),
    (["taskboard.demo.sleep"], "missing a required argument: 'seconds'"),
    (["taskboard.demo.sleep", "--kwargs", "{seconds: 1}"], "--kwargs is not valid JSON"),
    (["taskboard.demo.sleep", "--kwargs", "[1]"], "--kwargs must be a JSON object"),
    (["taskboard.demo.sleep", "--args", "{}"], "--args must be a JSON list"),
    (["taskboard.demo.sleep", "--kwargs", '{"seconds": "x"}'], "argument 'seconds' must be float or int"),
    (["taskboard.demo.sleep", "--kwargs", '{"seconds": NaN}'], "NaN is not valid JSON"),
    (["taskboard.demo.noop", "--queue", "nowhere"], "Queue 'nowhere' is not valid"),
    (["taskboard.demo.noop", "--run-after", "2030-01-01T00:00:00"], "has no UTC offset"),
    (["taskboard.demo.noop", "--run-after", "soon"], "is not an ISO 8601 datetime"),
    (["taskboard.demo.fail", "--kwargs", '{"message": "a\\u0000b"}'], "NUL"),
])
def test_bad_input_is_a_command_error(argv: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace("[", r"\[")):
        run("taskboard_enqueue", *argv)


def test_bad_input_writes_nothing() -> None:
    with pytest.raises(CommandError):
        run("taskboard_enqueue", "taskboard.demo.sleep", "--kwargs", '{"seconds": "x"}')
    assert not TaskRun.objects.exists()
