"""POST/GET /api/runs/…: the run JSON, idempotency, listing, cancel and replay."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from taskboard.models import DeadLetter, Outcome, Resolution, Status, TaskRun
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import JSON, enqueue, failed_run, make_attempt, make_run, post_json, succeeded_run

pytestmark = pytest.mark.django_db

RUN_KEYS = {
    "id", "task", "queue", "status", "args", "kwargs", "result", "progress", "progress_message",
    "checkpoint", "attempts", "max_attempts", "cancel_requested", "enqueued_at", "run_after",
    "started_at", "finished_at", "replay_of", "priority", "hold", "schedule", "batch", "correlation_id", "errors",
}


def create(client: Client, **body: Any) -> Any:
    return post_json(client, "/api/runs/", body)


# --- POST /api/runs/ ----------------------------------------------------------------------------

def test_create_returns_201(operator_api: Client) -> None:
    response = create(operator_api, task="taskboard.demo.noop")
    assert response.status_code == 201


def test_create_returns_the_run_json_keys_exactly(operator_api: Client) -> None:
    body = create(operator_api, task="taskboard.demo.flaky", kwargs={"fail_times": 2}).json()
    assert set(body) == RUN_KEYS


def test_create_stores_the_run(operator_api: Client) -> None:
    body = create(operator_api, task="taskboard.demo.flaky", kwargs={"fail_times": 2}).json()
    run = TaskRun.objects.get(pk=body["id"])
    assert (run.task, run.kwargs, run.status) == ("taskboard.demo.flaky", {"fail_times": 2}, Status.QUEUED)


def test_create_answers_with_the_stored_values(operator_api: Client) -> None:
    body = create(operator_api, task="taskboard.demo.flaky", kwargs={"fail_times": 2}).json()
    assert {k: body[k] for k in ("task", "queue", "status", "args", "kwargs", "attempts", "max_attempts",
                                 "result", "replay_of", "errors")} == {
        "task": "taskboard.demo.flaky", "queue": "default", "status": "queued", "args": [],
        "kwargs": {"fail_times": 2}, "attempts": 0, "max_attempts": 5, "result": None,
        "replay_of": None, "errors": [],
    }


def test_create_accepts_positional_args(operator_api: Client) -> None:
    body = create(operator_api, task="taskboard.demo.sleep", args=[0.5]).json()
    assert body["args"] == [0.5]


def test_timestamps_are_iso_8601_with_offset(operator_api: Client) -> None:
    body = create(operator_api, task="taskboard.demo.noop").json()
    assert datetime.fromisoformat(body["enqueued_at"]).utcoffset() == timedelta(0)


def test_run_after_in_the_future_schedules_the_run(operator_api: Client) -> None:
    when = (timezone.now() + timedelta(hours=1)).isoformat()
    body = create(operator_api, task="taskboard.demo.noop", run_after=when).json()
    assert body["status"] == "scheduled"


def test_run_after_with_another_offset_is_stored_in_utc(operator_api: Client) -> None:
    body = create(operator_api, task="taskboard.demo.noop", run_after="2099-01-01T12:00:00+02:00").json()
    assert body["run_after"] == "2099-01-01T10:00:00+00:00"


def test_run_after_accepts_z(operator_api: Client) -> None:
    response = create(operator_api, task="taskboard.demo.noop", run_after="2099-01-01T12:00:00Z")
    assert response.status_code == 201


def test_same_idempotency_key_returns_200(operator_api: Client) -> None:
    create(operator_api, task="taskboard.demo.noop", idempotency_key="order-1042")
    response = create(operator_api, task="taskboard.demo.noop", idempotency_key="order-1042")
    assert response.status_code == 200


def test_same_idempotency_key_returns_the_existing_run(operator_api: Client) -> None:
    first = create(operator_api, task="taskboard.demo.noop", idempotency_key="order-1042").json()
    second = create(operator_api, task="taskboard.demo.noop", idempotency_key="order-1042").json()
    assert second["id"] == first["id"]


def test_same_idempotency_key_writes_one_row(operator_api: Client) -> None:
    create(operator_api, task="taskboard.demo.noop", idempotency_key="order-1042")
    create(operator_api, task="taskboard.demo.noop", idempotency_key="order-1042")
    assert TaskRun.objects.count() == 1


def test_different_idempotency_keys_write_two_rows(operator_api: Client) -> None:
    create(operator_api, task="taskboard.demo.noop", idempotency_key="a")
    create(operator_api, task="taskboard.demo.noop", idempotency_key="b")
    assert TaskRun.objects.count() == 2


# --- GET /api/runs/{id}/ --------------------------------------------------------------------------

def test_read_run(viewer_api: Client) -> None:
    run = enqueue()
    body = viewer_api.get(f"/api/runs/{run.id}/").json()
    assert body["id"] == str(run.id)


def test_read_unknown_run_is_404(viewer_api: Client) -> None:
    response = viewer_api.get(f"/api/runs/{uuid.uuid4()}/")
    assert response.status_code == 404


def test_read_unknown_run_has_the_error_shape(viewer_api: Client) -> None:
    body = viewer_api.get(f"/api/runs/{uuid.uuid4()}/").json()
    assert body["error"]["code"] == "not_found"


@pytest.mark.parametrize("bad_id", ["nope", "123", "%00", "0" * 40])
def test_read_malformed_id_is_404(viewer_api: Client, bad_id: str) -> None:
    response = viewer_api.get(f"/api/runs/{bad_id}/")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")


def test_failed_run_lists_its_errors(viewer_api: Client) -> None:
    run = failed_run("card declined for order 7")
    errors = viewer_api.get(f"/api/runs/{run.id}/").json()["errors"]
    assert [(e["attempt"], e["kind"], e["exception"], e["message"]) for e in errors] == [
        (1, "permanent", "taskboard.exceptions.PermanentError", "card declined for order 7")
    ]


def test_error_at_is_the_attempt_end(viewer_api: Client) -> None:
    run = make_run(status=Status.RETRYING, attempts=1)
    at = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    make_attempt(run, 1, Outcome.RETRYABLE, finished_at=at)
    errors = viewer_api.get(f"/api/runs/{run.id}/").json()["errors"]
    assert errors[0]["at"] == "2030-05-01T12:00:00+00:00"


def test_succeeded_attempts_are_not_errors(viewer_api: Client) -> None:
    run = make_run(status=Status.SUCCEEDED, attempts=2)
    make_attempt(run, 1, Outcome.RETRYABLE)
    make_attempt(run, 2, Outcome.SUCCEEDED)
    errors = viewer_api.get(f"/api/runs/{run.id}/").json()["errors"]
    assert [e["kind"] for e in errors] == ["retryable"]


def test_succeeded_run_has_result_and_finish(viewer_api: Client) -> None:
    run = succeeded_run()
    body = viewer_api.get(f"/api/runs/{run.id}/").json()
    assert (body["status"], body["progress"], body["finished_at"] is not None) == ("succeeded", 100, True)


# --- GET /api/runs/ -----------------------------------------------------------------------------

def _staggered(n: int, **fields: Any) -> list[TaskRun]:
    base = timezone.now() - timedelta(hours=1)
    return [make_run(enqueued_at=base + timedelta(seconds=i), **fields) for i in range(n)]


def test_list_is_newest_first(viewer_api: Client) -> None:
    runs = _staggered(3)
    body = viewer_api.get("/api/runs/").json()
    assert [r["id"] for r in body["results"]] == [str(r.id) for r in reversed(runs)]


def test_list_without_more_pages_has_no_next(viewer_api: Client) -> None:
    _staggered(2)
    assert viewer_api.get("/api/runs/").json()["next"] is None


def test_list_limit(viewer_api: Client) -> None:
    _staggered(5)
    assert len(viewer_api.get("/api/runs/?limit=2").json()["results"]) == 2


def test_list_pages_with_the_cursor(viewer_api: Client) -> None:
    runs = _staggered(5)
    seen: list[str] = []
    url = "/api/runs/?limit=2"
    while url:
        body = viewer_api.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url = f"/api/runs/?limit=2&cursor={body['next']}" if body["next"] else ""
    assert seen == [str(r.id) for r in reversed(runs)]


def test_list_pages_through_runs_enqueued_at_the_same_instant(viewer_api: Client) -> None:
    at = timezone.now()
    runs = [make_run(enqueued_at=at) for _ in range(5)]
    seen: list[str] = []
    url = "/api/runs/?limit=2"
    while url:
        body = viewer_api.get(url).json()
        seen += [r["id"] for r in body["results"]]
        url = f"/api/runs/?limit=2&cursor={body['next']}" if body["next"] else ""
    assert sorted(seen) == sorted(str(r.id) for r in runs)


def test_list_filters_by_status(viewer_api: Client) -> None:
    make_run(status=Status.QUEUED)
    failed = make_run(status=Status.FAILED)
    body = viewer_api.get("/api/runs/?status=failed").json()
    assert [r["id"] for r in body["results"]] == [str(failed.id)]


def test_list_filters_by_task(viewer_api: Client) -> None:
    make_run(task="taskboard.demo.noop")
    sleep = make_run(task="taskboard.demo.sleep")
    body = viewer_api.get("/api/runs/?task=taskboard.demo.sleep").json()
    assert [r["id"] for r in body["results"]] == [str(sleep.id)]


def test_list_filters_by_queue(viewer_api: Client) -> None:
    make_run(queue="default")
    other = make_run(queue="reports")
    body = viewer_api.get("/api/runs/?queue=reports").json()
    assert [r["id"] for r in body["results"]] == [str(other.id)]


@pytest.mark.parametrize("query", [
    "limit=0", "limit=501", "limit=x", "status=done", "cursor=!!!", "cursor=bm90LWEtY3Vyc29y", "task=%00",
    "queue=%00",
    # year 1 at +14:00 and year 9999 at -14:00 are out of range in UTC
    "cursor=MDAwMS0wMS0wMVQwMDowMDowMCsxNDowMHwwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
    "cursor=OTk5OS0xMi0zMVQyMzo1OTo1OS0xNDowMHwwMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
    "cursor=MjAyMC0wMS0wMVQwMDowMDowMCswMDowMHwx",  # a dead letter cursor: its id is no UUID
])
def test_list_bad_query_is_400(viewer_api: Client, query: str) -> None:
    response = viewer_api.get(f"/api/runs/?{query}")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_request")


def test_list_limit_over_500_names_the_limit(viewer_api: Client) -> None:
    message = viewer_api.get("/api/runs/?limit=501").json()["error"]["message"]
    assert "limit" in message and "500" in message


def test_list_accepts_limit_500(viewer_api: Client) -> None:
    assert viewer_api.get("/api/runs/?limit=500").status_code == 200


def test_list_query_count_does_not_grow_with_runs(viewer_api: Client, django_assert_max_num_queries: Any) -> None:
    for run in _staggered(20, status=Status.RETRYING, attempts=1):
        make_attempt(run, 1, Outcome.RETRYABLE)
    # token, last_used_at, two permission lookups, runs, prefetched attempts
    with django_assert_max_num_queries(6):
        body = viewer_api.get("/api/runs/?limit=50").json()
    assert len(body["results"]) == 20


# --- POST /api/runs/{id}/cancel/ --------------------------------------------------------------

def test_cancel_queued_run(operator_api: Client) -> None:
    run = enqueue()
    body = post_json(operator_api, f"/api/runs/{run.id}/cancel/").json()
    assert (body["status"], body["cancel_requested"]) == ("cancelled", True)


def test_cancel_running_run_requests_the_stop(operator_api: Client) -> None:
    run = make_run(status=Status.RUNNING, attempts=1)
    body = post_json(operator_api, f"/api/runs/{run.id}/cancel/").json()
    assert (body["status"], body["cancel_requested"]) == ("running", True)


def test_cancel_finished_run_is_409(operator_api: Client) -> None:
    run = succeeded_run()
    response = post_json(operator_api, f"/api/runs/{run.id}/cancel/")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "conflict")


def test_cancel_unknown_run_is_404(operator_api: Client) -> None:
    assert post_json(operator_api, f"/api/runs/{uuid.uuid4()}/cancel/").status_code == 404


def test_cancel_needs_no_body(operator_api: Client) -> None:
    run = enqueue()
    assert operator_api.post(f"/api/runs/{run.id}/cancel/").status_code == 200


# --- POST /api/runs/{id}/replay/ ----------------------------------------------------------------

def test_replay_returns_201(operator_api: Client) -> None:
    run = failed_run()
    assert post_json(operator_api, f"/api/runs/{run.id}/replay/").status_code == 201


def test_replay_links_the_new_run(operator_api: Client) -> None:
    run = failed_run()
    body = post_json(operator_api, f"/api/runs/{run.id}/replay/").json()
    assert (body["replay_of"], body["status"], body["id"] != str(run.id)) == (str(run.id), "queued", True)


def test_replay_keeps_the_arguments(operator_api: Client) -> None:
    run = failed_run("declined")
    body = post_json(operator_api, f"/api/runs/{run.id}/replay/").json()
    assert body["kwargs"] == {"message": "declined"}


def test_replay_with_edited_kwargs(operator_api: Client) -> None:
    run = failed_run("declined")
    body = post_json(operator_api, f"/api/runs/{run.id}/replay/", {"kwargs": {"message": "retry"}}).json()
    assert body["kwargs"] == {"message": "retry"}


def test_replay_resolves_the_dead_letter(operator_api: Client) -> None:
    run = failed_run()
    post_json(operator_api, f"/api/runs/{run.id}/replay/")
    assert DeadLetter.objects.get(run=run).resolution == Resolution.REPLAYED


def test_replay_leaves_the_failed_run_as_it_was(operator_api: Client) -> None:
    run = failed_run()
    post_json(operator_api, f"/api/runs/{run.id}/replay/")
    run.refresh_from_db()
    assert run.status == Status.FAILED


def test_replay_of_a_cancelled_run(operator_api: Client) -> None:
    run = enqueue()
    post_json(operator_api, f"/api/runs/{run.id}/cancel/")
    assert post_json(operator_api, f"/api/runs/{run.id}/replay/").status_code == 201


@pytest.mark.parametrize("status", [Status.QUEUED, Status.RUNNING, Status.SUCCEEDED, Status.RETRYING])
def test_replay_of_a_run_that_did_not_fail_is_409(operator_api: Client, status: str) -> None:
    run = make_run(status=status)
    response = post_json(operator_api, f"/api/runs/{run.id}/replay/")
    assert (response.status_code, response.json()["error"]["code"]) == (409, "conflict")


def test_replay_of_unknown_run_is_404(operator_api: Client) -> None:
    assert post_json(operator_api, f"/api/runs/{uuid.uuid4()}/replay/").status_code == 404


@pytest.mark.parametrize("kwargs", [{"nope": 1}, {"message": 5}, {}])
def test_replay_with_kwargs_that_do_not_bind_is_400(operator_api: Client, kwargs: dict[str, Any]) -> None:
    run = failed_run()
    response = post_json(operator_api, f"/api/runs/{run.id}/replay/", {"kwargs": kwargs})
    assert (response.status_code, response.json()["error"]["code"]) == (400, "invalid_arguments")


def test_replay_with_bad_kwargs_writes_nothing(operator_api: Client) -> None:
    run = failed_run()
    post_json(operator_api, f"/api/runs/{run.id}/replay/", {"kwargs": {"message": 5}})
    assert (TaskRun.objects.count(), DeadLetter.objects.get(run=run).resolved_at) == (1, None)


@pytest.mark.parametrize("body", [b"[]", b"{", b'{"kwargs": []}', b'{"args": []}'])
def test_replay_with_a_bad_body_is_400(operator_api: Client, body: bytes) -> None:
    run = failed_run()
    response = operator_api.post(f"/api/runs/{run.id}/replay/", body, content_type=JSON)
    assert response.status_code == 400
