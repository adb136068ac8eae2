"""The Flow page, its actions, and the held badge on run rows and the run page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from taskboard.models import HoldReason, Pause, Status, TaskRun
from tests.factories import NOOP, make_run
from tests.web.flow_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.flow_fixtures import BREAKER, held_run

pytestmark = pytest.mark.django_db

ACTIONS = ["/dashboard/flow/queue/default/pause/", f"/dashboard/flow/task/{NOOP}/pause/",
           f"/dashboard/flow/breaker/{BREAKER}/open/", f"/dashboard/flow/breaker/{BREAKER}/close/"]


@pytest.fixture
def flow_client(flow_operator: User) -> Client:
    client = Client()
    client.force_login(flow_operator)
    return client


def test_the_page_shows_breakers_queues_and_tasks(viewer_client: Client) -> None:
    html = viewer_client.get("/dashboard/flow/").content.decode()
    assert BREAKER in html and "default" in html and NOOP in html
    assert "flow-control" not in html  # a viewer gets no controls


def test_the_nav_links_the_page_with_a_shortcut(viewer_client: Client) -> None:
    html = viewer_client.get("/dashboard/").content.decode()
    assert 'href="/dashboard/flow/"' in html and 'data-shortcut="g l"' in html


@pytest.mark.parametrize("url", ACTIONS)
def test_viewers_get_403(viewer_client: Client, url: str) -> None:
    assert viewer_client.post(url, HTTP_HX_REQUEST="true").status_code == 403


def test_unknown_names_are_404(flow_client: Client) -> None:
    assert flow_client.post("/dashboard/flow/queue/nope/pause/", HTTP_HX_REQUEST="true").status_code == 404


def test_pause_from_the_page(flow_client: Client) -> None:
    response = flow_client.post("/dashboard/flow/queue/default/pause/", {"reason": "deploy"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Queue default paused" in response.content.decode()
    assert Pause.objects.get().reason == "deploy"
    assert "Resume" in flow_client.get("/dashboard/flow/").content.decode()


def test_without_javascript_an_action_redirects_back(flow_client: Client) -> None:
    response = flow_client.post(f"/dashboard/flow/breaker/{BREAKER}/open/")
    assert (response.status_code, response["Location"]) == (302, "/dashboard/flow/")


def test_held_badge_on_run_rows_and_the_run_page(viewer_client: Client) -> None:
    for _ in range(2):
        make_run(Status.RUNNING, task=NOOP, concurrency_key="user:42", concurrency_limit=2)
    run = held_run(HoldReason.CONCURRENCY, "user:42", concurrency_key="user:42", concurrency_limit=2)
    sentence = "held: user:42 has 2 of 2 running"
    assert sentence in viewer_client.get("/dashboard/runs/?status=held").content.decode()
    assert sentence in viewer_client.get(f"/dashboard/runs/{run.pk}/").content.decode()


def test_held_is_a_status_filter(viewer_client: Client) -> None:
    held_run(HoldReason.PAUSED, "queue:default")
    make_run(Status.QUEUED, task=NOOP)
    html = viewer_client.get("/dashboard/runs/?status=held").content.decode()
    assert "held: queue default is paused" in html
    assert html.count('class="badge st-held"') == 1


def test_flow_page_query_budget(flow_client: Client, django_assert_max_num_queries: Any) -> None:
    for i in range(5):
        held_run(HoldReason.CONCURRENCY, f"user:{i}", concurrency_key=f"user:{i}", concurrency_limit=1)
    flow_client.post(f"/dashboard/flow/breaker/{BREAKER}/open/")
    with django_assert_max_num_queries(16 + 1):  # + the nav's firing-alert count
        assert flow_client.get("/dashboard/flow/").status_code == 200
    assert TaskRun.objects.filter(status=Status.HELD).count() == 5
