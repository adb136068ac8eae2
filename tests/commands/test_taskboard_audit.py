"""Commands and the audit log: each operator command leaves one event ``via`` cli naming the
account that ran it (none when it refuses or only looks), and ``taskboard_audit`` shows them."""

from __future__ import annotations

import getpass
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError
from django.utils import timezone

from taskboard import operations
from taskboard.models import ApiToken, DeadLetter, Status, TaskRun, Via
from taskboard.operations.audit import acting_via
from tests.audit_helpers import recorded
from tests.commands.conftest import run
from tests.factories import NOOP, make_failed, make_run
from tests.web.flow_fixtures import BREAKER

pytestmark = pytest.mark.django_db

ME = getpass.getuser()


def later() -> Any:
    return timezone.now() + timedelta(hours=1)


def test_cancel_of_several_runs_is_one_event() -> None:
    runs = [make_run(Status.QUEUED), make_run(Status.QUEUED)]
    with recorded() as events:
        run("taskboard_cancel", *[str(r.pk) for r in runs], "--reason", "bad batch")
    [event] = events
    assert (event.verb, event.actor, event.via, event.count, event.reason) == ("run.cancel", ME, "cli", 2,
                                                                               "bad batch")
    assert event.targets == [str(r.pk) for r in runs]


def test_each_operator_command_leaves_one_event_via_the_cli(operator: User) -> None:
    failed, other = make_failed(), make_failed()
    retrying, scheduled = make_run(Status.RETRYING, run_after=later()), make_run(Status.SCHEDULED, run_after=later())
    old = timezone.now() - timedelta(days=40)
    make_run(Status.SUCCEEDED, enqueued_at=old, finished_at=old)
    fingerprint = other.attempt_set.get().fingerprint
    commands = [
        (("taskboard_enqueue", NOOP), "run.enqueue"),
        (("taskboard_replay", str(failed.pk)), "dead_letter.replay"),
        (("taskboard_failures", "replay", fingerprint), "dead_letter.replay"),
        (("taskboard_retry_now", str(retrying.pk)), "run.retry_now"),
        (("taskboard_run_now", str(scheduled.pk)), "run.run_now"),
        (("taskboard_prune", "--older-than", "30"), "run.prune"),
        (("taskboard_queue", "pause", "default", "--reason", "deploy"), "queue.pause"),
        (("taskboard_queue", "resume", "default"), "queue.resume"),
        (("taskboard_breaker", "open", BREAKER), "breaker.open"),
        (("taskboard_breaker", "close", BREAKER), "breaker.close"),
        (("taskboard_token", "operator"), "token.create"),
    ]
    for args, verb in commands:
        with recorded() as events:
            run(*args)
        assert [(e.verb, e.actor, e.via) for e in events] == [(verb, ME, "cli")], args


def test_discard_by_task_records_the_filter_and_the_reason() -> None:
    make_failed(), make_failed()
    with recorded() as events:
        run("taskboard_discard", "--task", "taskboard.demo.fail", "--reason", "test data")
    [event] = events
    assert (event.verb, event.filter, event.count, event.reason) == ("dead_letter.discard",
                                                                     {"task": "taskboard.demo.fail"}, 2, "test data")


def test_token_revoke_is_audited(operator: User) -> None:
    run("taskboard_token", "operator")
    token = ApiToken.objects.get()
    with recorded() as events:
        run("taskboard_token", "--revoke", token.prefix)
    assert [(e.verb, e.targets) for e in events] == [("token.revoke", [f"operator:{token.prefix}"])]


def test_refusals_and_looks_leave_no_event() -> None:
    finished = make_run(Status.SUCCEEDED)
    make_failed()
    refused = [("taskboard_cancel", "nope"), ("taskboard_cancel", str(finished.pk)),
               ("taskboard_cancel", str(uuid.uuid4())), ("taskboard_queue", "pause", "no-such-queue"),
               ("taskboard_replay", "--all", "--reason", "x" * 501), ("taskboard_token", "ghost")]
    for args in refused:
        with recorded() as events, pytest.raises(CommandError):
            run(*args)
        assert events == [], args
    with recorded() as events:
        run("taskboard_replay", "--all", "--dry-run")
        run("taskboard_discard", "--all", "--dry-run")
        run("taskboard_prune", "--older-than", "1", "--dry-run")
        run("taskboard_status")
        run("taskboard_audit")
    assert events == []
    assert DeadLetter.objects.unresolved().count() == 1


# --- taskboard_audit --------------------------------------------------------------------------


def cancelled(user: User | None, via: str, n: int = 1) -> list[TaskRun]:
    runs = [make_run(Status.QUEUED) for _ in range(n)]
    with acting_via(via):
        for item in runs:
            operations.cancel(item.pk, user=user, reason=f"why {str(item.pk)[:8]}")
    return runs


def test_lists_one_line_per_action_newest_first(operator: User) -> None:
    first, second = cancelled(operator, Via.UI, 2)
    lines = run("taskboard_audit").out.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(f"operator (ui)  run.cancel {second.pk}  ×1  — why {str(second.pk)[:8]}")
    assert str(first.pk) in lines[1]


def test_json_is_the_api_page(operator: User) -> None:
    [item] = cancelled(operator, Via.API)
    body = json.loads(run("taskboard_audit", "--json").out)
    assert body["next"] is None
    assert body["results"][0].keys() >= {"id", "at", "actor", "via", "verb", "targets", "count", "reason"}
    assert (body["results"][0]["targets"], body["results"][0]["via"]) == ([str(item.pk)], "api")


def test_filters(operator: User) -> None:
    mine = cancelled(operator, Via.UI)[0]
    theirs = cancelled(None, Via.CLI)[0]
    assert str(theirs.pk) not in run("taskboard_audit", "--run", str(mine.pk)).out
    assert str(theirs.pk) not in run("taskboard_audit", "--actor", "operator").out
    assert str(mine.pk) not in run("taskboard_audit", "--via", "cli").out
    assert run("taskboard_audit", "--verb", "run.replay").out.strip() == "no operator actions match"


def test_pages_with_limit_and_cursor() -> None:
    runs = cancelled(None, Via.CLI, 3)
    first = json.loads(run("taskboard_audit", "--json", "--limit", "2").out)
    second = json.loads(run("taskboard_audit", "--json", "--limit", "2", "--cursor", first["next"]).out)
    assert [r["targets"][0] for r in first["results"] + second["results"]] == [str(r.pk) for r in runs[::-1]]
    assert second["next"] is None
    assert run("taskboard_audit", "--limit", "2").last_line == f"more: --cursor {first['next']}"


@pytest.mark.parametrize(("args", "message"), [
    (("--run", "nope"), "is not a run id"), (("--limit", "0"), "--limit must be"),
    (("--limit", "x"), "is not a number"), (("--cursor", "!!!"), "--cursor"),
])
def test_bad_input_is_a_one_line_error(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run("taskboard_audit", *args)
