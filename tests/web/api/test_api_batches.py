"""POST /api/runs/bulk/ and /api/batches/…: all or nothing, batch JSON, cancel, replay-failed."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client

from taskboard.execution.runner import execute
from taskboard.models import AuditEvent, Batch, Status, TaskRun
from tests import callback_tasks
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import post_json

pytestmark = pytest.mark.django_db

CHILD = f"{callback_tasks.HERE}.child"
BATCH_DONE = f"{callback_tasks.HERE}.batch_done"
BATCH_KEYS = {"id", "name", "total", "waiting", "running", "succeeded", "failed", "cancelled", "progress",
              "created_at", "finished_at"}


def bulk(client: Client, **body: Any) -> Any:
    return post_json(client, "/api/runs/bulk/", body)


def test_bulk_creates_runs_and_answers_201_with_their_ids(operator_api: Client) -> None:
    response = bulk(operator_api, task="taskboard.demo.sleep", items=[{"kwargs": {"seconds": i}} for i in range(3)])
    assert response.status_code == 201
    body = response.json()
    assert body["batch"] is None
    runs = TaskRun.objects.in_bulk([uuid.UUID(i) for i in body["runs"]])
    assert [runs[uuid.UUID(i)].kwargs for i in body["runs"]] == [{"seconds": 0}, {"seconds": 1}, {"seconds": 2}]
    assert {run.status for run in runs.values()} == {Status.QUEUED}


def test_one_bad_item_among_1000_is_a_400_naming_its_index_and_nothing_is_written(operator_api: Client) -> None:
    items: list[dict[str, Any]] = [{"kwargs": {"seconds": 0.1}} for _ in range(1000)]
    items[637] = {"kwargs": {"seconds": "soon"}}
    response = bulk(operator_api, task="taskboard.demo.sleep", items=items, batch={"name": "nightly"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_arguments"
    assert error["message"].startswith("item 637: ")
    assert "seconds" in error["message"]
    assert not TaskRun.objects.exists() and not Batch.objects.exists() and not AuditEvent.objects.exists()


def test_a_malformed_item_is_a_400_naming_its_index(operator_api: Client) -> None:
    response = bulk(operator_api, task="taskboard.demo.noop", items=[{}, {"kwarg": {}}])
    assert response.status_code == 400
    assert "items.1.kwarg" in response.json()["error"]["message"]
    assert not TaskRun.objects.exists()


def test_more_than_1000_items_or_none_is_a_400(operator_api: Client) -> None:
    assert bulk(operator_api, task="taskboard.demo.noop", items=[{}] * 1001).status_code == 400
    assert bulk(operator_api, task="taskboard.demo.noop", items=[]).status_code == 400
    assert not TaskRun.objects.exists()


def test_unknown_task_queue_or_callback_is_a_400(operator_api: Client) -> None:
    assert bulk(operator_api, task="nope.nothing", items=[{}]).json()["error"]["code"] == "unknown_task"
    assert bulk(operator_api, task="taskboard.demo.noop", items=[{}], queue="nowhere").status_code == 400
    response = bulk(operator_api, task="taskboard.demo.noop", items=[{}], batch={"on_complete": "os.system"})
    assert response.status_code == 400 and "os.system" in response.json()["error"]["message"]
    # A callback must accept batch_id.
    response = bulk(operator_api, task="taskboard.demo.noop", items=[{}], batch={"on_complete": "taskboard.demo.noop"})
    assert response.status_code == 400 and "batch_id" in response.json()["error"]["message"]
    assert not TaskRun.objects.exists() and not Batch.objects.exists()


def test_bulk_needs_the_enqueue_permission(viewer_api: Client) -> None:
    assert bulk(viewer_api, task="taskboard.demo.noop", items=[{}]).status_code == 403
    assert not TaskRun.objects.exists()


def test_bulk_with_a_batch_and_one_audit_event(operator_api: Client) -> None:
    body = bulk(operator_api, task=CHILD, items=[{"kwargs": {"n": i}} for i in range(4)],
                batch={"name": "import 7", "on_complete": BATCH_DONE}, correlation_id="req-7").json()
    batch = Batch.objects.get(pk=body["batch"])
    assert (batch.name, batch.total, batch.open, batch.on_complete) == ("import 7", 4, 4, BATCH_DONE)
    assert set(TaskRun.objects.filter(batch=batch).values_list("correlation_id", flat=True)) == {"req-7"}
    event = AuditEvent.objects.get()
    assert (event.verb, event.count, event.actor) == ("run.enqueue", 4, "operator")


def test_batch_json_has_the_contract_keys_and_counts(operator_api: Client, viewer_api: Client) -> None:
    items = [{"kwargs": {"n": 1}}, {"kwargs": {"n": 2, "fail": True}}, {"kwargs": {"n": 3}}]
    body = bulk(operator_api, task=CHILD, items=items, batch={"name": "b"}).json()
    first, second, _ = body["runs"]
    execute(first)
    execute(second)
    batch = viewer_api.get(f"/api/batches/{body['batch']}/").json()
    assert BATCH_KEYS <= set(batch)
    assert {k: batch[k] for k in ("total", "waiting", "running", "succeeded", "failed", "cancelled", "progress")} == {
        "total": 3, "waiting": 1, "running": 0, "succeeded": 1, "failed": 1, "cancelled": 0, "progress": 66}
    assert batch["finished_at"] is None


def test_unknown_or_malformed_batch_is_a_404(viewer_api: Client, operator_api: Client) -> None:
    assert viewer_api.get(f"/api/batches/{uuid.uuid4()}/").status_code == 404
    assert viewer_api.get("/api/batches/not-a-batch/").status_code == 404
    assert post_json(operator_api, f"/api/batches/{uuid.uuid4()}/cancel/").status_code == 404
    assert post_json(operator_api, f"/api/batches/{uuid.uuid4()}/replay-failed/").status_code == 404


def test_cancel_batch_cancels_the_waiting_children(operator_api: Client) -> None:
    body = bulk(operator_api, task=CHILD, items=[{"kwargs": {"n": i}} for i in range(3)],
                batch={"on_complete": BATCH_DONE}).json()
    execute(body["runs"][0])
    response = post_json(operator_api, f"/api/batches/{body['batch']}/cancel/")
    assert response.status_code == 200
    batch = response.json()
    assert (batch["succeeded"], batch["cancelled"], batch["waiting"], batch["progress"]) == (1, 2, 0, 100)
    assert batch["finished_at"] is not None and batch["cancelled_at"] is not None
    # Every child finished: the batch completed, its on_complete was enqueued once.
    assert TaskRun.objects.filter(task=BATCH_DONE, kwargs={"batch_id": body["batch"]}).count() == 1
    assert AuditEvent.objects.filter(verb="batch.cancel").count() == 1
    # A finished batch cannot be cancelled again.
    assert post_json(operator_api, f"/api/batches/{body['batch']}/cancel/").status_code == 409


def test_cancel_and_replay_need_their_permissions(operator_api: Client, viewer_api: Client) -> None:
    body = bulk(operator_api, task=CHILD, items=[{"kwargs": {"n": 1}}], batch={}).json()
    assert post_json(viewer_api, f"/api/batches/{body['batch']}/cancel/").status_code == 403
    assert post_json(viewer_api, f"/api/batches/{body['batch']}/replay-failed/").status_code == 403
    assert TaskRun.objects.get().status == Status.QUEUED
    assert not AuditEvent.objects.filter(verb__startswith="batch.").exists()


def test_replay_failed_replays_into_the_batch_and_on_success_fires_after(operator_api: Client) -> None:
    body = bulk(operator_api, task=CHILD, items=[{"kwargs": {"n": 1}}, {"kwargs": {"n": 2, "fail": True}}],
                batch={"on_complete": BATCH_DONE, "on_success": BATCH_DONE}).json()
    for run_id in body["runs"]:
        execute(run_id)
    batch = Batch.objects.get(pk=body["batch"])
    assert batch.is_finished and batch.on_complete_run is not None and batch.on_success_run is None
    response = post_json(operator_api, f"/api/batches/{body['batch']}/replay-failed/")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("total", "waiting", "failed", "finished_at")} == {
        "total": 2, "waiting": 1, "failed": 0, "finished_at": None}
    replay = TaskRun.objects.get(batch_id=body["batch"], replay_of__isnull=False)
    assert str(replay.replay_of_id) == body["runs"][1]
    execute(str(replay.pk))
    batch = Batch.objects.get(pk=body["batch"])
    assert (batch.succeeded, batch.failed, batch.is_finished) == (2, 0, True)
    # on_complete once (at the first completion), on_success once (now).
    assert TaskRun.objects.filter(task=BATCH_DONE).count() == 2
    assert batch.on_success_run is not None
    # Nothing left to replay: the same answer, no second event.
    post_json(operator_api, f"/api/batches/{body['batch']}/replay-failed/")
    assert AuditEvent.objects.filter(verb="batch.replay_failed").count() == 1


def test_list_batches_and_runs_by_batch_and_correlation(operator_api: Client, viewer_api: Client) -> None:
    body = bulk(operator_api, task=CHILD, items=[{"kwargs": {"n": 1}}, {"kwargs": {"n": 2}}],
                batch={"name": "listed"}).json()
    other = bulk(operator_api, task=CHILD, items=[{"kwargs": {"n": 3}}], correlation_id="c-1").json()
    listed = viewer_api.get("/api/batches/").json()
    assert [b["id"] for b in listed["results"]] == [body["batch"]]
    by_batch = viewer_api.get(f"/api/runs/?batch={body['batch']}").json()["results"]
    assert sorted(r["id"] for r in by_batch) == sorted(body["runs"])
    by_correlation = viewer_api.get("/api/runs/?correlation_id=c-1").json()["results"]
    assert [r["id"] for r in by_correlation] == other["runs"]
    # A batch without a correlation id of its own gives its id to its children.
    assert {r["correlation_id"] for r in by_batch} == {body["batch"]}


def test_enqueue_accepts_a_correlation_id(operator_api: Client) -> None:
    body = post_json(operator_api, "/api/runs/", {"task": "taskboard.demo.noop", "correlation_id": "order-1042"}).json()
    assert body["correlation_id"] == "order-1042"
    bad = post_json(operator_api, "/api/runs/", {"task": "taskboard.demo.noop", "correlation_id": "a\u0000b"})
    assert bad.status_code == 400
    assert TaskRun.objects.count() == 1
