"""Pause/resume and breaker open/close: permissions, unknown names, holding and releasing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from taskboard import operations
from taskboard.exceptions import NotAllowed
from taskboard.flow import status as flow_status
from taskboard.models import BreakerTransition, HoldReason, Pause, Status, TaskRun
from tests.factories import NOOP, enqueue
from tests.web.flow_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.flow_fixtures import BREAKER, held_run, hold_queued

pytestmark = pytest.mark.django_db

VERBS = [(operations.pause_queue, "default"), (operations.resume_queue, "default"),
         (operations.pause_task, NOOP), (operations.resume_task, NOOP),
         (operations.open_breaker, BREAKER), (operations.close_breaker, BREAKER)]


@pytest.mark.parametrize(("verb", "name"), VERBS)
def test_a_viewer_may_not(viewer: User, verb, name) -> None:
    with pytest.raises(NotAllowed):
        verb(name, user=viewer)


@pytest.mark.parametrize(("verb", "name"), VERBS)
def test_an_operator_without_the_flow_permissions_may_not(operator: User, verb, name) -> None:
    with pytest.raises(NotAllowed):
        verb(name, user=operator)


@pytest.mark.parametrize("verb", [v for v, _ in VERBS])
def test_an_unknown_name_is_unknown(flow_operator: User, verb) -> None:
    with pytest.raises(operations.UnknownName):
        verb("no-such-name", user=flow_operator)


def test_pause_records_who_and_why(flow_operator: User) -> None:
    operations.pause_queue("default", reason="maintenance", user=flow_operator)
    pause = Pause.objects.get()
    assert (pause.scope, pause.name, pause.reason, pause.actor) == ("queue", "default", "maintenance", "flow-operator")


def test_resume_releases_the_runs_held_for_the_pause(flow_operator: User) -> None:
    operations.pause_queue("default", user=flow_operator)
    run = enqueue()
    hold_queued(run, HoldReason.PAUSED, "queue:default")
    assert operations.resume_queue("default", user=flow_operator) == 1
    assert TaskRun.objects.get(pk=run.pk).status == Status.QUEUED
    assert not Pause.objects.exists()


def test_open_then_close_is_recorded_and_releases_held_runs(flow_operator: User) -> None:
    operations.open_breaker(BREAKER, reason="provider down", user=flow_operator)
    run = held_run(HoldReason.BREAKER, BREAKER, breaker=BREAKER)
    assert [r["state"] for r in flow_status.breaker_rows() if r["name"] == BREAKER] == ["open"]
    operations.close_breaker(BREAKER, user=flow_operator)
    assert TaskRun.objects.get(pk=run.pk).status == Status.QUEUED
    assert [(t.to_state, t.actor) for t in BreakerTransition.objects.order_by("at", "id")] == [
        ("open", "flow-operator"), ("closed", "flow-operator")]


def test_the_flow_operators_group_may_pause_and_force_breakers(db) -> None:
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user("steer", is_staff=True)
    user.groups.add(Group.objects.get(name="taskboard flow operators"))
    user = User.objects.get(pk=user.pk)  # fresh permission cache
    assert user.has_perms(["taskboard.pause_flow", "taskboard.control_breaker", "taskboard.view_taskrun"])
