"""The audit log of the operator verbs: exactly one event per action, in the action's own
transaction, none when the action is refused."""

from __future__ import annotations

import getpass
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError
from django.utils import timezone

from taskboard import operations
from taskboard.exceptions import InvalidTaskArguments, NotAllowed, OperationError, UnknownTask
from taskboard.models import AuditEvent, AuditRun, DeadLetter, Pause, Status, TaskRun, Via
from taskboard.operations import audit, tokens
from taskboard.operations.audit import TARGETS_MAX, acting_via
from tests.audit_helpers import linked_runs, recorded, summary
from tests.factories import NOOP, failed_run, make_failed, make_run
from tests.web.flow_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.flow_fixtures import BREAKER

pytestmark = pytest.mark.django_db


def later() -> Any:
    return timezone.now() + timedelta(hours=1)


# --- one event per verb -----------------------------------------------------------------------


def test_cancel(operator: User) -> None:
    run = make_run(Status.QUEUED)
    with recorded() as events:
        operations.cancel(run.pk, user=operator, reason="wrong account")
    [event] = events
    assert summary(event) == ("run.cancel", "operator", "system", [str(run.pk)], 1)
    assert event.reason == "wrong account" and linked_runs(event) == {str(run.pk)}


def test_replay_links_the_old_and_the_new_run(operator: User) -> None:
    run = failed_run()
    with recorded() as events:
        new = operations.replay(run.pk, user=operator)
    [event] = events
    assert summary(event) == ("run.replay", "operator", "system", [str(run.pk)], 1)
    assert linked_runs(event) == {str(run.pk), str(new.pk)}


def test_enqueue(operator: User) -> None:
    with recorded() as events:
        run, _ = operations.enqueue(NOOP, user=operator)
    assert [summary(e) for e in events] == [("run.enqueue", "operator", "system", [str(run.pk)], 1)]


def test_an_idempotent_repeat_enqueues_nothing_and_records_nothing(operator: User) -> None:
    operations.enqueue(NOOP, idempotency_key="k1", user=operator)
    with recorded() as events:
        _, created = operations.enqueue(NOOP, idempotency_key="k1", user=operator)
    assert (created, events) == (False, [])


@pytest.mark.parametrize(("status", "verb", "name"), [(Status.RETRYING, operations.retry_now, "run.retry_now"),
                                                      (Status.SCHEDULED, operations.run_now, "run.run_now")])
def test_start_now(operator: User, status: str, verb: Any, name: str) -> None:
    run = make_run(status, run_after=later())
    with recorded() as events:
        verb(run.pk, user=operator)
    assert [summary(e) for e in events] == [(name, "operator", "system", [str(run.pk)], 1)]


@pytest.mark.parametrize(("verb", "target", "name"), [
    (operations.pause_queue, "default", "queue.pause"), (operations.resume_queue, "default", "queue.resume"),
    (operations.pause_task, NOOP, "task.pause"), (operations.resume_task, NOOP, "task.resume"),
    (operations.open_breaker, BREAKER, "breaker.open"), (operations.close_breaker, BREAKER, "breaker.close"),
])
def test_flow_verbs(flow_operator: User, verb: Any, target: str, name: str) -> None:
    with recorded() as events:
        verb(target, reason="deploy", user=flow_operator)
    [event] = events
    assert summary(event) == (name, "flow-operator", "system", [target], 1)
    assert event.reason == "deploy" and not event.runs.exists()


def test_token_create_and_revoke_are_audited(operator: User) -> None:
    with recorded() as events:
        token, _ = tokens.issue_token(operator, "ci")
        assert tokens.revoke_tokens([token]) == 1
        assert tokens.revoke_tokens([token]) == 0  # already revoked: nothing done, nothing recorded
    target = f"operator:{token.prefix}"
    assert [summary(e) for e in events] == [("token.create", "system", "system", [target], 1),
                                            ("token.revoke", "system", "system", [target], 1)]


# --- who and through what ---------------------------------------------------------------------


def test_the_entry_point_says_through_what(operator: User) -> None:
    run = make_run(Status.QUEUED)
    with recorded() as events, acting_via(Via.API):
        operations.cancel(run.pk, user=operator)
    assert events[0].via == "api"
    assert audit.current_via() == Via.SYSTEM  # the block restored it


def test_a_command_names_the_account_that_ran_it() -> None:
    run = make_run(Status.QUEUED)
    with recorded() as events, acting_via(Via.CLI):
        operations.cancel(run.pk)
    assert (events[0].actor, events[0].via) == (getpass.getuser(), "cli")


def test_a_trusted_caller_elsewhere_is_the_system() -> None:
    with recorded() as events:
        operations.cancel(make_run(Status.QUEUED).pk)
    assert (events[0].actor, events[0].via) == ("system", "system")


# --- bulk: one event, the targets (capped) or the filter, every run linked ----------------------


def test_bulk_cancel_is_one_event_for_what_it_did(operator: User) -> None:
    waiting = [make_run(Status.QUEUED), make_run(Status.SCHEDULED)]
    finished = make_run(Status.SUCCEEDED)
    with recorded() as events:
        outcome = operations.cancel_many([r.pk for r in [*waiting, finished]], user=operator, reason="bad deploy")
    [event] = events
    assert len(outcome.skipped) == 1
    assert summary(event) == ("run.cancel", "operator", "system", [str(r.pk) for r in waiting], 2)
    assert linked_runs(event) == {str(r.pk) for r in waiting} and event.reason == "bad deploy"


def test_bulk_targets_are_capped_but_count_and_links_are_whole(operator: User) -> None:
    runs = [make_run(Status.QUEUED) for _ in range(TARGETS_MAX + 5)]
    with recorded() as events:
        operations.cancel_many([r.pk for r in runs], user=operator)
    [event] = events
    assert (len(event.targets), event.count, event.runs.count()) == (TARGETS_MAX, TARGETS_MAX + 5, TARGETS_MAX + 5)


def test_a_bulk_action_that_did_nothing_records_nothing(operator: User) -> None:
    with recorded() as events:
        operations.cancel_many([make_run(Status.SUCCEEDED).pk, uuid.uuid4()], user=operator)
        operations.retry_now_many([make_run(Status.QUEUED).pk], user=operator)
    assert events == []


def test_bulk_replay_and_start_now(operator: User) -> None:
    failed, retrying, scheduled = make_failed(), make_run(Status.RETRYING), make_run(Status.SCHEDULED)
    with recorded() as events:
        operations.replay_many([failed.pk], user=operator)
        operations.retry_now_many([retrying.pk], user=operator)
        operations.run_now_many([scheduled.pk], user=operator)
    new = TaskRun.objects.get(replay_of=failed)
    assert [summary(e) for e in events] == [("run.replay", "operator", "system", [str(failed.pk)], 1),
                                            ("run.retry_now", "operator", "system", [str(retrying.pk)], 1),
                                            ("run.run_now", "operator", "system", [str(scheduled.pk)], 1)]
    assert linked_runs(events[0]) == {str(failed.pk), str(new.pk)}


def test_dead_letters_chosen_by_filter_record_the_filter(operator: User) -> None:
    chosen = [make_failed(), make_failed()]
    with recorded() as events:
        operations.replay_dead_letters(operations.open_dead_letters(task="taskboard.demo.fail"), user=operator,
                                       filter={"task": "taskboard.demo.fail"}, reason="provider back")
    [event] = events
    new = list(TaskRun.objects.filter(replay_of__in=chosen).values_list("pk", flat=True))
    assert (event.verb, event.filter, event.count, event.reason) == (
        "dead_letter.replay", {"task": "taskboard.demo.fail"}, 2, "provider back")
    assert sorted(event.targets) == sorted(str(r.pk) for r in chosen)
    assert linked_runs(event) == {str(r.pk) for r in chosen} | {str(pk) for pk in new}


def test_discard(operator: User) -> None:
    run = make_failed()
    with recorded() as events:
        assert operations.discard_dead_letters(operations.open_dead_letters(), user=operator, reason="spam") == 1
        assert operations.discard_dead_letters(operations.open_dead_letters(), user=operator) == 0
    [event] = events
    assert summary(event) == ("dead_letter.discard", "operator", "system", [str(run.pk)], 1)
    assert linked_runs(event) == {str(run.pk)}


def test_prune_is_one_event_counting_every_batch() -> None:
    old = timezone.now() - timedelta(days=40)
    for _ in range(5):
        make_run(Status.SUCCEEDED, enqueued_at=old, finished_at=old)
    with recorded() as events:
        assert operations.prune(30, batch=2, reason="retention") == 5
        assert operations.prune(30, batch=2) == 0  # nothing left: no event
        assert operations.prune(0, dry_run=True) == 0
    [event] = events
    assert (event.verb, event.count, event.filter, event.reason) == ("run.prune", 5, {"older_than_days": 30},
                                                                     "retention")


def test_prune_needs_the_delete_permission(operator: User) -> None:
    with pytest.raises(NotAllowed):
        operations.prune(30, user=operator)


# --- none when refused ------------------------------------------------------------------------


def refusals(viewer: User, operator: User) -> list[tuple[Any, type[Exception]]]:
    finished, failed = make_run(Status.SUCCEEDED), make_failed()
    return [
        (lambda: operations.cancel(make_run(Status.QUEUED).pk, user=viewer), NotAllowed),
        (lambda: operations.cancel(finished.pk, user=operator), OperationError),
        (lambda: operations.cancel(uuid.uuid4(), user=operator), TaskRun.DoesNotExist),
        (lambda: operations.replay(finished.pk, user=operator), OperationError),
        (lambda: operations.replay(failed.pk, kwargs={"message": 5}, user=operator), InvalidTaskArguments),
        (lambda: operations.retry_now(finished.pk, user=operator), OperationError),
        (lambda: operations.run_now(uuid.uuid4(), user=operator), TaskRun.DoesNotExist),
        (lambda: operations.enqueue("no.such.task", user=operator), UnknownTask),
        (lambda: operations.enqueue(NOOP, user=viewer), NotAllowed),
        (lambda: operations.pause_queue("default", user=operator), NotAllowed),
        (lambda: operations.pause_queue("no-such-queue"), operations.UnknownName),
        (lambda: operations.open_breaker("no-such-breaker"), operations.UnknownName),
        (lambda: operations.discard_dead_letters(DeadLetter.objects.all(), user=viewer), NotAllowed),
        (lambda: operations.replay_many([finished.pk], user=viewer), NotAllowed),
        (lambda: tokens.revoke_tokens([], user=viewer), NotAllowed),
    ]


def test_a_refused_action_records_nothing(viewer: User, operator: User) -> None:
    for action, error in refusals(viewer, operator):
        with recorded() as events, pytest.raises(error):
            action()
        assert events == [], error


# --- the same transaction ---------------------------------------------------------------------


@pytest.fixture
def failing_after_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """``record`` writes its event, then the action fails before its transaction commits. An
    enqueue writes its event as statements run with the run's (``run_statements``): a
    statement after them fails."""
    real = audit.record

    def record_then_fail(*args: Any, **kwargs: Any) -> AuditEvent:
        real(*args, **kwargs)
        raise RuntimeError("the action failed after its audit event was written")

    real_statements = audit.run_statements

    def statements_then_fail(*args: Any, **kwargs: Any) -> Any:
        statements = real_statements(*args, **kwargs)
        return None if statements is None else [*statements, ("INSERT INTO no_such_table VALUES (%s)", [1])]

    monkeypatch.setattr(audit, "record", record_then_fail)
    monkeypatch.setattr(audit, "run_statements", statements_then_fail)


@pytest.mark.usefixtures("failing_after_record")
def test_an_action_that_fails_after_recording_leaves_neither_event_nor_change(operator: User,
                                                                              flow_operator: User) -> None:
    queued, failed = make_run(Status.QUEUED), make_failed()
    old = timezone.now() - timedelta(days=40)
    pruned = make_run(Status.SUCCEEDED, enqueued_at=old, finished_at=old)
    actions = [
        lambda: operations.cancel(queued.pk, user=operator),
        lambda: operations.cancel_many([queued.pk], user=operator),
        lambda: operations.replay(failed.pk, user=operator),
        lambda: operations.discard_dead_letters(operations.open_dead_letters(), user=operator),
        lambda: operations.pause_queue("default", user=flow_operator),
        lambda: operations.open_breaker(BREAKER, user=flow_operator),
        lambda: operations.enqueue(NOOP, user=operator),
        lambda: operations.prune(30),
    ]
    runs_before = TaskRun.objects.count()
    for action in actions:
        with pytest.raises((RuntimeError, DatabaseError)):
            action()
    assert not AuditEvent.objects.filter(actor__in=["operator", "flow-operator"]).exists()
    assert not AuditEvent.objects.filter(verb="run.prune").exists() and not AuditRun.objects.filter(
        run_id=queued.pk).exists()
    assert TaskRun.objects.get(pk=queued.pk).status == Status.QUEUED
    assert DeadLetter.objects.get(run=failed).is_open and not TaskRun.objects.filter(replay_of=failed).exists()
    assert TaskRun.objects.filter(pk=pruned.pk).exists() and TaskRun.objects.count() == runs_before
    assert not Pause.objects.exists()
