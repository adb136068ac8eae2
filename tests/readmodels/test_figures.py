"""Each figure has one definition, whoever asks (dashboard, API, metrics, CLI)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard.models import Outcome, Status, TaskAttempt, WorkerNode
from taskboard.readmodels import failures, queues, workers
from taskboard.transport import cluster as transport_cluster

pytestmark = pytest.mark.django_db


def test_oldest_wait_is_since_ready_not_since_the_last_push(make_run):
    now = timezone.now()
    make_run(Status.QUEUED, enqueued_at=now - timedelta(minutes=7), dispatched_at=now)
    stats = queues.queue_stats(now)["default"]
    assert stats.depth == 1
    assert stats.oldest_wait_seconds == pytest.approx(420, abs=1)
    [row] = queues.queue_rows()
    assert row.oldest == now - timedelta(minutes=7)


def test_a_delayed_run_is_ready_since_its_run_after(make_run):
    now = timezone.now()
    make_run(Status.QUEUED, enqueued_at=now - timedelta(hours=1), run_after=now - timedelta(minutes=2))
    assert queues.queue_stats(now)["default"].oldest_wait_seconds == pytest.approx(120, abs=1)


def test_configured_queues_come_from_the_task_backend():
    assert queues.configured_queues() == ["default"]


def test_a_worker_is_alive_while_its_heartbeat_is_fresh_and_it_has_not_stopped():
    now = timezone.now()
    WorkerNode.objects.create(id="a", hostname="h", pid=1, last_seen=now)
    WorkerNode.objects.create(id="b", hostname="h", pid=2, last_seen=now - timedelta(hours=1))
    WorkerNode.objects.create(id="c", hostname="h", pid=3, last_seen=now, stopped_at=now)
    assert [node.id for node in workers.live_workers(now)] == ["a"]
    assert {row["id"]: row["alive"] for row in workers.worker_rows(now)} == {"a": True, "b": False, "c": False}
    assert {view.node.id: view.state for view in workers.recent_nodes(now)} == {
        "a": "alive", "b": "stale", "c": "stopped"}


def test_a_cluster_is_working_while_one_of_its_worker_processes_holds_a_run(make_run, monkeypatch):
    monkeypatch.setattr(transport_cluster, "cluster_stats", lambda: [
        {"status": "Idle", "workers": [7, 8], "host": "h1"}, {"status": "Idle", "workers": [9], "host": "h2"}])
    make_run(Status.RUNNING, worker="h1:8")
    make_run(Status.RUNNING, worker="h2:8")  # another host's pid 8: not this cluster's
    busy, idle = workers.cluster_stats() or []
    assert (busy["state"], busy["running"], idle["state"], idle["running"]) == ("working", 1, "idle", 0)


def test_failures_leave_out_successes_and_an_operators_cancel(make_run, make_attempt):
    run = make_run(Status.CANCELLED, attempts=3)
    for number, outcome in enumerate([Outcome.RETRYABLE, Outcome.TIMEOUT, Outcome.CANCELLED], start=1):
        make_attempt(run, number=number, outcome=outcome)
    make_attempt(make_run(Status.SUCCEEDED), outcome=Outcome.SUCCEEDED)
    assert sorted(TaskAttempt.objects.filter(failures.FAILED_ATTEMPT).values_list("outcome", flat=True)) == [
        "retryable", "timeout"]
