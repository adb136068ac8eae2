"""taskboard_queue and taskboard_breaker: list, the verbs, and clear errors."""

from __future__ import annotations

import json

import pytest
from django.core.management.base import CommandError

from taskboard.models import BreakerTransition, HoldReason, Pause, Status, TaskRun
from tests.commands.conftest import run
from tests.factories import enqueue
from tests.web.flow_fixtures import BREAKER, hold_queued

pytestmark = pytest.mark.django_db


def test_queue_list_json_is_the_api_list() -> None:
    rows = json.loads(run("taskboard_queue", "list", "--json").out)["results"]
    assert rows[0].keys() == {"name", "paused", "waiting", "held", "running", "oldest_wait_seconds"}


def test_queue_pause_and_resume_release_held_runs() -> None:
    assert run("taskboard_queue", "pause", "default", "--reason", "deploy").last_line == "queue default paused"
    assert Pause.objects.get().reason == "deploy"
    held = enqueue()
    hold_queued(held, HoldReason.PAUSED, "queue:default")
    assert "paused" in run("taskboard_queue", "list").out
    assert run("taskboard_queue", "resume", "default").last_line == "queue default resumed"
    assert TaskRun.objects.get(pk=held.pk).status == Status.QUEUED


def test_breaker_open_close_and_list() -> None:
    assert run("taskboard_breaker", "open", BREAKER, "--reason", "down").last_line == f"breaker {BREAKER} opened"
    assert json.loads(run("taskboard_breaker", "list", "--json").out)["results"][0]["state"] == "open"
    run("taskboard_breaker", "close", BREAKER)
    assert [(t.to_state, t.reason) for t in BreakerTransition.objects.order_by("at", "id")] == [
        ("open", "down"), ("closed", "closed by hand")]


@pytest.mark.parametrize("args", [("taskboard_queue", "pause", "nope"), ("taskboard_queue", "resume"),
                                  ("taskboard_queue", "list", "default"), ("taskboard_breaker", "open", "nope"),
                                  ("taskboard_breaker", "close"), ("taskboard_queue", "pause", "default",
                                                                    "--reason", "x" * 501)])
def test_bad_input_is_a_one_line_error(args: tuple[str, ...]) -> None:
    with pytest.raises(CommandError):
        run(*args)
    assert not Pause.objects.exists()
