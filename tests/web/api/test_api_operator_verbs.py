"""API/CLI parity with the dashboard: retry now, run now, discard dead letters, failure groups."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from taskboard.models import DeadLetter, Resolution, Status, TaskRun
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import failed_run, make_run, post_json

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_failure_groups")]


def later() -> Any:
    return timezone.now() + timedelta(hours=1)


# --- retry now / run now -------------------------------------------------------------------------

def test_retry_now_queues_a_retrying_run(operator_api: Client) -> None:
    run = make_run(status=Status.RETRYING, run_after=later())
    response = post_json(operator_api, f"/api/runs/{run.id}/retry-now/")
    assert (response.status_code, response.json()["status"]) == (200, "queued")
    assert TaskRun.objects.get(pk=run.pk).status == Status.QUEUED


def test_run_now_queues_a_scheduled_run(operator_api: Client) -> None:
    run = make_run(status=Status.SCHEDULED, run_after=later())
    response = post_json(operator_api, f"/api/runs/{run.id}/run-now/")
    assert (response.status_code, response.json()["status"]) == (200, "queued")


@pytest.mark.parametrize(("verb", "status"), [("retry-now", Status.SCHEDULED), ("run-now", Status.RETRYING),
                                              ("retry-now", Status.SUCCEEDED), ("run-now", Status.RUNNING)])
def test_a_run_in_another_state_is_409(operator_api: Client, verb: str, status: str) -> None:
    run = make_run(status=status, run_after=later())
    response = post_json(operator_api, f"/api/runs/{run.id}/{verb}/")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "conflict")
    assert TaskRun.objects.get(pk=run.pk).status == status


@pytest.mark.parametrize("verb", ["retry-now", "run-now"])
def test_unknown_or_malformed_run_is_404(operator_api: Client, verb: str) -> None:
    assert post_json(operator_api, f"/api/runs/{uuid.uuid4()}/{verb}/").status_code == 404
    assert post_json(operator_api, f"/api/runs/nope/{verb}/").status_code == 404


@pytest.mark.parametrize("verb", ["retry-now", "run-now"])
def test_viewers_may_not(viewer_api: Client, verb: str) -> None:
    run = make_run(status=Status.RETRYING if verb == "retry-now" else Status.SCHEDULED, run_after=later())
    response = post_json(viewer_api, f"/api/runs/{run.id}/{verb}/")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")


# --- discard dead letters ------------------------------------------------------------------------

def test_discard_by_ids(operator_api: Client) -> None:
    chosen, other = failed_run(), failed_run()
    letter = DeadLetter.objects.get(run=chosen)
    body = post_json(operator_api, "/api/dead-letters/discard/", {"ids": [letter.pk]}).json()
    assert body == {"discarded": 1}
    assert DeadLetter.objects.get(run=chosen).resolution == Resolution.DISCARDED
    assert DeadLetter.objects.get(run=other).is_open
    assert TaskRun.objects.get(pk=chosen.pk).status == Status.FAILED  # the run stays failed
    assert not TaskRun.objects.filter(replay_of=chosen).exists()


def test_discard_by_task_skips_resolved_letters(operator_api: Client) -> None:
    failed_run(), failed_run()
    assert post_json(operator_api, "/api/dead-letters/discard/", {"task": "taskboard.demo.fail"}).json() == {
        "discarded": 2}
    assert post_json(operator_api, "/api/dead-letters/discard/", {"task": "taskboard.demo.fail"}).json() == {
        "discarded": 0}


@pytest.mark.parametrize("body", [{}, {"ids": [0]}, {"ids": [1], "task": "x"}, {"task": ""}, {"task": "x", "y": 1}])
def test_discard_bad_body_is_400(operator_api: Client, body: Any) -> None:
    response = post_json(operator_api, "/api/dead-letters/discard/", body)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")


def test_discard_needs_the_discard_permission(viewer_api: Client) -> None:
    letter = DeadLetter.objects.get(run=failed_run())
    response = post_json(viewer_api, "/api/dead-letters/discard/", {"ids": [letter.pk]})
    assert response.status_code == 403
    assert DeadLetter.objects.get(pk=letter.pk).is_open


# --- failure groups ------------------------------------------------------------------------------

def test_failure_groups_are_listed(viewer_api: Client) -> None:
    first = failed_run("card declined for order 1")
    failed_run("card declined for order 2")
    [group] = viewer_api.get("/api/failures/").json()["results"]
    assert (group["task"], group["exception"], group["kind"], group["count_24h"]) == (
        "taskboard.demo.fail", "taskboard.exceptions.PermanentError", "permanent", 2)
    assert group["fingerprint"] == first.attempt_set.get().fingerprint


def test_failure_groups_filter_by_task(viewer_api: Client) -> None:
    failed_run()
    assert viewer_api.get("/api/failures/?task=tests.sample_tasks.echo").json() == {"results": []}


def test_failure_group_sort_is_validated(viewer_api: Client) -> None:
    assert viewer_api.get("/api/failures/?sort=loudest").status_code == 400


def test_failure_group_replay(operator_api: Client) -> None:
    runs = [failed_run("card declined for order 1"), failed_run("card declined for order 2")]
    fingerprint = runs[0].attempt_set.get().fingerprint
    body = post_json(operator_api, f"/api/failures/{fingerprint}/replay/").json()
    assert body["replayed"] == 2
    assert {str(r.replay_of_id) for r in TaskRun.objects.filter(replay_of__isnull=False)} == {str(r.id) for r in runs}


def test_failure_group_replay_of_unknown_or_malformed_fingerprint(operator_api: Client) -> None:
    assert post_json(operator_api, "/api/failures/0123456789abcdef/replay/").status_code == 404
    assert post_json(operator_api, "/api/failures/NOT-HEX/replay/").status_code == 400


# --- priority on enqueue (CONTRACT: POST /api/runs/ accepts "priority") ---------------------------

def test_enqueue_with_a_priority(operator_api: Client) -> None:
    response = post_json(operator_api, "/api/runs/", {"task": "taskboard.demo.noop", "priority": 40})
    assert (response.status_code, response.json()["priority"]) == (201, 40)
    assert TaskRun.objects.get(pk=response.json()["id"]).priority == 40


def test_a_run_shows_its_priority(viewer_api: Client) -> None:
    run = TaskRun.objects.create(task="taskboard.demo.noop", priority=-7)
    assert viewer_api.get(f"/api/runs/{run.pk}/").json()["priority"] == -7


@pytest.mark.parametrize("priority", [101, -101, True, "5", 2.5])
def test_a_priority_out_of_range_or_not_a_whole_number_is_400(operator_api: Client, priority: Any) -> None:
    response = post_json(operator_api, "/api/runs/", {"task": "taskboard.demo.noop", "priority": priority})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")
    assert not TaskRun.objects.exists()
