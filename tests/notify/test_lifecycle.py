"""Webhook subscriptions: run lifecycle events are buffered per process, sent as one signed
message per subscription per flush (one delivery run), filtered by event type and task; the
deliveries' own runs publish nothing; a removed subscription's pending delivery is skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from taskboard import operations
from taskboard.execution.runner import execute
from taskboard.models import Status, TaskRun, WebhookMessage, WebhookSubscription
from taskboard.notify import lifecycle
from taskboard.service import clock
from taskboard.transport import push as transport_push
from tests import sample_tasks
from tests.factories import FAIL, NOOP, enqueue, executed
from tests.notify.conftest import DELIVER
from tests.notify.receivers import WebhookReceiver

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hub(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[lifecycle.Hub]:
    """A fresh hub whose thread never flushes on its own: the test flushes."""
    transport_push.broker_for("default").purge_queue()
    settings.TASKBOARD = {**settings.TASKBOARD, "WEBHOOK_FLUSH_SECONDS": 3600}
    fresh = lifecycle.Hub()
    monkeypatch.setattr(lifecycle, "_hub", fresh)
    lifecycle.connect()
    yield fresh
    lifecycle.disconnect()


@pytest.fixture
def subscriber() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(secret=None).start()
    yield server
    server.stop()


def subscribe(hub: lifecycle.Hub, receiver: WebhookReceiver, **options: Any) -> str:
    _, secret = operations.add_webhook(receiver.url, **options)
    receiver.secret = secret
    hub.refresh()
    return secret


def deliver_all(hub: lifecycle.Hub) -> list[TaskRun]:
    hub.flush()
    runs = list(TaskRun.objects.filter(task=DELIVER, status=Status.QUEUED).order_by("enqueued_at"))
    for run in runs:
        execute(str(run.pk))
    return [TaskRun.objects.get(pk=run.pk) for run in runs]


def events(receiver: WebhookReceiver) -> list[tuple[str, str]]:
    return [(e["type"], e["data"]["task"]) for body in receiver.verified() for e in body["data"]["events"]]


def test_a_run_s_events_arrive_signed_in_one_message(hub, subscriber):
    subscribe(hub, subscriber)
    run = executed(enqueue(NOOP))
    [delivery] = deliver_all(hub)
    assert delivery.status == Status.SUCCEEDED and delivery.result["events"] == 3
    [body] = subscriber.verified()
    assert body["type"] == "run.events"
    assert [e["type"] for e in body["data"]["events"]] == ["run.enqueued", "run.started", "run.succeeded"]
    assert {e["data"]["id"] for e in body["data"]["events"]} == {str(run.pk)}
    assert subscriber.received[0].headers["webhook-id"] == f"msg_sub_{WebhookMessage.objects.get().pk}"


def test_many_runs_coalesce_into_one_delivery_per_flush(hub, subscriber):
    subscribe(hub, subscriber, events=["run.succeeded"])
    for _ in range(20):
        executed(enqueue(NOOP))
    [delivery] = deliver_all(hub)
    assert delivery.result["events"] == 20
    assert deliver_all(hub) == []  # nothing new: nothing sent


def test_failures_retries_and_cancels(hub, subscriber):
    subscribe(hub, subscriber, events=["run.retrying", "run.failed", "run.dead_lettered", "run.cancelled"])
    flaky = executed(TaskRun.objects.get(pk=sample_tasks.fail_until.enqueue(succeed_on=2).id))
    clock.dispatch_due(timezone.now() + timedelta(seconds=1))
    executed(flaky)
    executed(enqueue(FAIL, message="card declined"))
    operations.cancel(enqueue(NOOP).pk)
    deliver_all(hub)
    assert [kind for kind, _ in events(subscriber)] == ["run.retrying", "run.failed", "run.dead_lettered",
                                                        "run.cancelled"]
    dead = [e for body in subscriber.verified() for e in body["data"]["events"] if e["type"] == "run.dead_lettered"]
    assert dead[0]["data"]["error"] == "PermanentError: card declined"


def test_progress_events(hub, subscriber):
    subscribe(hub, subscriber, events=["run.progress"])
    executed(TaskRun.objects.get(pk=sample_tasks.report.enqueue(n=3).id))
    deliver_all(hub)
    progress = [e["data"] for body in subscriber.verified() for e in body["data"]["events"]]
    assert progress and progress[-1]["progress"] == 100 and progress[-1]["message"] == "item 3"


def test_a_task_filter(hub, subscriber):
    subscribe(hub, subscriber, task=FAIL)
    executed(enqueue(NOOP))
    executed(enqueue(FAIL, message="x"))
    deliver_all(hub)
    assert {task for _, task in events(subscriber)} == {FAIL}


def test_deliveries_publish_nothing_themselves(hub, subscriber):
    subscribe(hub, subscriber)
    executed(enqueue(NOOP))
    deliver_all(hub)
    assert deliver_all(hub) == []  # the delivery's own enqueue/start/success are not events
    assert DELIVER not in {task for _, task in events(subscriber)}


def test_without_subscribers_nothing_is_buffered_or_written(hub):
    hub.refresh()
    executed(enqueue(NOOP))
    assert hub.buffered() == 0 and hub.flush() == 0
    assert not WebhookMessage.objects.exists()


def test_publishing_costs_no_query(hub, subscriber):
    subscribe(hub, subscriber)
    with CaptureQueriesContext(connection) as queries:
        lifecycle.on_progress(None, run=TaskRun(task=NOOP, queue="default"), percent=5, message="m")
    assert len(queries) == 0 and hub.buffered() == 1


def test_events_before_the_first_read_of_subscribers_are_kept_and_sorted(hub, subscriber):
    _, secret = operations.add_webhook(subscriber.url, events=["run.succeeded"])
    subscriber.secret = secret
    executed(enqueue(NOOP))  # the hub has not read the subscriptions yet
    assert hub.buffered() == 3 and hub.subscribers is None
    [delivery] = deliver_all(hub)
    assert [kind for kind, _ in events(subscriber)] == ["run.succeeded"]


def test_a_removed_subscription_s_pending_delivery_is_skipped(hub, subscriber):
    subscribe(hub, subscriber)
    executed(enqueue(NOOP))
    hub.flush()
    operations.remove_webhook(WebhookMessage.objects.get().subscription_id)
    [run] = TaskRun.objects.filter(task=DELIVER)
    assert executed(run).status == Status.SUCCEEDED and run.result["skipped"] == "subscription removed"
    assert subscriber.received == []


def test_an_unreachable_subscriber_is_retried_like_any_delivery(hub, subscriber):
    subscribe(hub, subscriber)
    subscriber.status = 503
    executed(enqueue(NOOP))
    [delivery] = deliver_all(hub)
    assert delivery.status == Status.RETRYING and delivery.last_error.startswith("ChannelError: webhook 127.0.0.1")


def test_task_enqueued_is_listened_to_only_while_someone_wants_it(hub, subscriber):
    from django.tasks.signals import task_enqueued

    def listening() -> bool:
        return any(key[0] == "taskboard.notify.enqueued" for key, *_ in task_enqueued.receivers)

    hub.refresh()  # no subscription
    assert not listening()
    subscribe(hub, subscriber, events=["run.succeeded"])
    assert not listening()
    subscribe(hub, subscriber, events=["run.enqueued"])
    assert listening()


def test_events_for_a_subscription_removed_before_the_flush_are_dropped(hub, subscriber):
    subscribe(hub, subscriber)
    executed(enqueue(NOOP))
    operations.remove_webhook(WebhookSubscription.objects.get().pk)
    with pytest.raises(IntegrityError):  # the hub did not know yet: nothing written, all kept
        hub.flush()
    assert hub.buffered() == 3 and hub.loaded_at == float("-inf")  # read again next round
    hub.refresh()
    assert hub.flush() == 0 and hub.buffered() == 0
    assert not WebhookMessage.objects.exists() and not TaskRun.objects.filter(task=DELIVER).exists()


def test_the_events_body_carries_the_stored_json_as_it_is(hub, subscriber):
    subscribe(hub, subscriber, events=["run.succeeded"])
    run = executed(enqueue(NOOP))
    deliver_all(hub)
    [delivery] = subscriber.received
    body = json.loads(delivery.body)
    assert list(body) == ["type", "timestamp", "data"] and body["data"]["subscription"] == delivery.payload[
        "data"]["subscription"]
    [event] = body["data"]["events"]
    assert event["data"] == {"id": str(run.pk), "task": NOOP, "queue": "default", "attempt": 1}
    assert event["timestamp"].endswith("+00:00")
    assert body["data"]["events"] == WebhookMessage.objects.get().events
