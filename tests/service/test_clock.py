"""The dispatcher tick, in-process (no cluster running)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard import operations
from taskboard.models import Outcome, Schedule, Status, TaskRun, WorkerNode
from taskboard.service import clock
from taskboard.transport import cluster as transport_cluster
from taskboard.transport import push as transport_push
from tests import sample_tasks

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_broker():
    transport_push.broker_for("default").purge_queue()


def run(**fields) -> TaskRun:
    defaults = {"task": "tests.sample_tasks.add", "args": [1, 2], "max_attempts": 3,
                "backoff": {"base": 0, "max_delay": 0, "jitter": 0}}
    return TaskRun.objects.create(**{**defaults, **fields})


def test_due_retry_is_queued_and_pushed():
    due = run(status=Status.RETRYING, run_after=timezone.now() - timedelta(seconds=1))
    later = run(status=Status.SCHEDULED, run_after=timezone.now() + timedelta(hours=1))
    assert clock.tick(["default"]).dispatched == 1
    assert TaskRun.objects.get(pk=due.pk).status == Status.QUEUED
    assert TaskRun.objects.get(pk=later.pk).status == Status.SCHEDULED
    assert transport_cluster.queue_depth("default") == 1


def test_seconds_until_next_due():
    run(status=Status.SCHEDULED, run_after=timezone.now() + timedelta(seconds=30))
    assert 29 < clock.seconds_until_next_due(["default"]) <= 30
    assert clock.seconds_until_next_due(["other"]) is None


def test_expired_lease_becomes_lost_attempt_and_retry():
    claimed = TaskRun.objects.claim(run().pk, "gone:42", 30)
    TaskRun.objects.filter(pk=claimed.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert clock.tick(["default"]).lost == 1
    claimed.refresh_from_db()
    assert claimed.status in (Status.RETRYING, Status.QUEUED)
    assert claimed.attempt_set.get().outcome == Outcome.LOST


def test_lost_last_attempt_dead_letters():
    claimed = TaskRun.objects.claim(run(max_attempts=1).pk, "gone:42", 30)
    TaskRun.objects.filter(pk=claimed.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    clock.tick(["default"])
    claimed.refresh_from_db()
    assert claimed.status == Status.FAILED and claimed.dead_letter.is_open


def test_unclaimed_run_is_re_pushed_when_workers_idle_and_broker_empty(settings):
    settings.TASKBOARD = {"REDISPATCH_AFTER": 5.0}
    stale = run(dispatched_at=timezone.now() - timedelta(seconds=10))
    fresh = run(dispatched_at=timezone.now())
    WorkerNode.objects.create(id="n1", hostname="h", pid=1, queues=["default"],
                              cluster_pids={"default": [11, 12]})
    assert clock.tick(["default"]).redispatched == 1
    stale.refresh_from_db()
    assert timezone.now() - stale.dispatched_at < timedelta(seconds=2)  # pushed again just now
    assert TaskRun.objects.get(pk=fresh.pk).dispatched_at == fresh.dispatched_at  # too young
    assert transport_cluster.queue_depth("default") == 1


def test_no_re_push_while_every_worker_is_busy(settings):
    settings.TASKBOARD = {"REDISPATCH_AFTER": 5.0}
    run(dispatched_at=timezone.now() - timedelta(seconds=10))
    run(status=Status.RUNNING, lease_expires_at=timezone.now() + timedelta(seconds=30))
    WorkerNode.objects.create(id="n1", hostname="h", pid=1, queues=["default"], cluster_pids={"default": [11]})
    assert clock.tick(["default"]).redispatched == 0


def test_no_re_push_without_live_workers(settings):
    settings.TASKBOARD = {"REDISPATCH_AFTER": 5.0}
    run(dispatched_at=timezone.now() - timedelta(seconds=10))
    assert clock.tick(["default"]).redispatched == 0


def test_push_many_sends_one_message_per_run():
    ids = [sample_tasks.add.enqueue(i, i).id for i in range(3)]
    transport_push.broker_for("default").purge_queue()
    transport_push.push_many(ids, "default")
    assert transport_cluster.queue_depth("default") == 3


def test_due_runs_of_both_waiting_statuses_and_the_earliest_of_them():
    now = timezone.now()
    retrying = run(status=Status.RETRYING, run_after=now - timedelta(seconds=2))
    scheduled = run(status=Status.SCHEDULED, run_after=now - timedelta(seconds=1))
    run(status=Status.QUEUED, run_after=now - timedelta(seconds=5))  # dispatched already
    assert set(TaskRun.objects.due(now).values_list("pk", flat=True)) == {retrying.pk, scheduled.pk}
    assert TaskRun.objects.next_due_at() == retrying.run_after


def test_broker_dequeue_takes_a_batch_in_order_and_leaves_the_rest(settings):
    if transport_cluster.broker_info() != "orm":
        pytest.skip("the ORM broker")
    ids = [sample_tasks.add.enqueue(i, i).id for i in range(12)]
    broker = transport_push.broker_for("default")
    taken = broker.dequeue()
    assert len(taken) == 10  # Q_CLUSTER bulk
    assert [pk for pk, _ in taken] == sorted(pk for pk, _ in taken)
    assert transport_cluster.queue_depth("default") == 2
    rest = broker.dequeue()
    assert len(rest) == 2 and transport_cluster.queue_depth("default") == 0
    from django_q.signing import SignedPackage

    runs = [SignedPackage.loads(payload)["args"][0] for _, payload in taken + rest]
    assert runs == [str(i) for i in ids]


def test_broker_dequeue_of_an_empty_queue_waits_a_poll_and_returns_nothing():
    if transport_cluster.broker_info() != "orm":
        pytest.skip("the ORM broker")
    assert not transport_push.broker_for("default").dequeue()


def test_the_clock_wakes_for_the_next_fire_time_of_a_schedule(monkeypatch):
    monkeypatch.setattr(clock, "_next_fire_at", None)  # what the last tick saw: this test's only
    schedule = operations.add_schedule("soon", "taskboard.demo.noop", every=60)
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=timezone.now() + timedelta(seconds=20))
    assert clock.tick(["default"]).fired == 0
    assert 19 < clock.seconds_until_next_due(["default"]) <= 20
    Schedule.objects.filter(pk=schedule.pk).update(next_run_at=timezone.now() - timedelta(seconds=1))
    assert clock.tick(["default"]).fired == 1
    assert TaskRun.objects.get().schedule == "soon"
    assert 58 < clock.seconds_until_next_due(["default"]) <= 60
