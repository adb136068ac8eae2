"""The flow-control admin: actions go through operations with the user's permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from taskboard import operations
from taskboard.models import Breaker, Pause
from tests.web.flow_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.flow_fixtures import BREAKER

pytestmark = pytest.mark.django_db


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_adding_a_pause_pauses_through_operations(flow_operator: User) -> None:
    response = client_of(flow_operator).post("/admin/taskboard/pause/add/",
                                             {"scope": "queue", "name": "default", "reason": "deploy"})
    assert response.status_code == 302
    assert Pause.objects.get().actor == "flow-operator"


def test_the_resume_action_resumes(flow_operator: User) -> None:
    pause = operations.pause_queue("default")
    client_of(flow_operator).post("/admin/taskboard/pause/", {"action": "resume", "_selected_action": [pause.pk]})
    assert not Pause.objects.exists()


def test_the_close_action_closes(flow_operator: User) -> None:
    operations.open_breaker(BREAKER)
    client_of(flow_operator).post("/admin/taskboard/breaker/", {"action": "close_breakers",
                                                               "_selected_action": [BREAKER]})
    assert Breaker.objects.get().state == "closed"


def test_a_plain_operator_gets_no_breaker_actions(operator: User) -> None:
    operations.open_breaker(BREAKER)
    response = client_of(operator).post("/admin/taskboard/breaker/", {"action": "close_breakers",
                                                                     "_selected_action": [BREAKER]})
    assert response.status_code == 200  # the list again: the action is not offered to this user
    assert Breaker.objects.get().state == "open"
