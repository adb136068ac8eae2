"""/api/queues/, /api/tasks/{name}/pause|resume/, /api/breakers/, the run's ``hold`` and 429."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from taskboard.models import HoldReason, Pause, Status, TaskRun
from tests import sample_tasks  # noqa: F401 - registers reject_over_two for enqueue by name
from tests.factories import NOOP, enqueue
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import bearer_client, post_json, token_for
from tests.web.flow_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.flow_fixtures import BREAKER, held_run, hold_queued

pytestmark = pytest.mark.django_db

POSTS = ["/api/queues/default/pause/", "/api/queues/default/resume/", f"/api/tasks/{NOOP}/pause/",
         f"/api/tasks/{NOOP}/resume/", f"/api/breakers/{BREAKER}/open/", f"/api/breakers/{BREAKER}/close/"]


@pytest.fixture
def flow_api(flow_operator: User) -> Client:
    return bearer_client(token_for(flow_operator))


@pytest.mark.parametrize("url", POSTS)
def test_viewers_and_plain_operators_get_403(viewer_api: Client, operator_api: Client, url: str) -> None:
    assert post_json(viewer_api, url).status_code == 403
    assert post_json(operator_api, url).status_code == 403


@pytest.mark.parametrize("url", [u.replace("default", "nope").replace(NOOP, "no.such").replace(BREAKER, "nope")
                                 for u in POSTS])
def test_unknown_names_are_404(flow_api: Client, url: str) -> None:
    response = post_json(flow_api, url)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_queues_list_the_contract_keys(viewer_api: Client) -> None:
    body = viewer_api.get("/api/queues/").json()
    assert body["results"][0].keys() == {"name", "paused", "waiting", "held", "running", "oldest_wait_seconds"}


def test_pause_holds_and_resume_releases(flow_api: Client) -> None:
    response = post_json(flow_api, "/api/queues/default/pause/", {"reason": "deploy"})
    assert (response.status_code, response.json()["paused"]) == (200, True)
    run = enqueue()
    hold_queued(run, HoldReason.PAUSED, "queue:default")  # what its claim does while paused
    held = flow_api.get(f"/api/runs/{run.pk}/").json()
    assert (held["status"], held["hold"]["reason"], held["hold"]["key"]) == ("held", "paused", "queue:default")
    assert flow_api.get("/api/queues/").json()["results"][0]["held"] == 1
    response = post_json(flow_api, "/api/queues/default/resume/")
    assert (response.status_code, response.json()["paused"], response.json()["held"]) == (200, False, 0)
    released = flow_api.get(f"/api/runs/{run.pk}/").json()
    assert (released["status"], released["hold"]) == ("queued", None)


def test_task_pause_answers_task_and_paused(flow_api: Client) -> None:
    assert post_json(flow_api, f"/api/tasks/{NOOP}/pause/").json() == {"task": NOOP, "paused": True}
    assert Pause.objects.filter(scope="task", name=NOOP).exists()
    assert post_json(flow_api, f"/api/tasks/{NOOP}/resume/").json() == {"task": NOOP, "paused": False}


def test_breaker_open_and_close(flow_api: Client) -> None:
    opened = post_json(flow_api, f"/api/breakers/{BREAKER}/open/", {"reason": "provider down"}).json()
    assert (opened["name"], opened["state"]) == (BREAKER, "open")
    run = held_run(HoldReason.BREAKER, BREAKER, breaker=BREAKER)
    assert [b["held"] for b in flow_api.get("/api/breakers/").json()["results"] if b["name"] == BREAKER] == [1]
    closed = post_json(flow_api, f"/api/breakers/{BREAKER}/close/").json()
    assert (closed["state"], closed["held"]) == ("closed", 0)
    assert TaskRun.objects.get(pk=run.pk).status == Status.QUEUED


def test_breakers_list_the_contract_keys(viewer_api: Client) -> None:
    row = viewer_api.get("/api/breakers/").json()["results"][0]
    assert row.keys() == {"name", "state", "calls", "failures", "failure_rate", "opened_at", "retry_at", "held"}


def test_a_bad_reason_is_400(flow_api: Client) -> None:
    assert post_json(flow_api, "/api/queues/default/pause/", {"reason": 5}).status_code == 400
    assert post_json(flow_api, "/api/queues/default/pause/", {"why": "x"}).status_code == 400
    assert not Pause.objects.exists()


def test_a_rejected_enqueue_is_429_and_writes_nothing(operator_api: Client) -> None:
    body = {"task": "tests.sample_tasks.reject_over_two", "kwargs": {"tenant": "acme"}}
    assert [post_json(operator_api, "/api/runs/", body).status_code for _ in range(2)] == [201, 201]
    before = TaskRun.objects.count()
    response = post_json(operator_api, "/api/runs/", body)
    assert (response.status_code, response.json()["error"]["code"]) == (429, "limit_exceeded")
    assert TaskRun.objects.count() == before
