"""Alerting on real ``taskboard_worker`` hosts: their clocks evaluate (one host at a time),
delivery runs go through their clusters to a real HTTP receiver that verifies the signature,
and a channel that is down dead-letters its delivery."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from taskboard import operations
from taskboard.bulk import enqueue_many
from taskboard.demo import noop
from taskboard.models import AlertLease, DeadLetter, Notification, Status, TaskRun
from tests.execution.conftest import start_worker  # noqa: F401 - pytest fixture
from tests.execution.workers import wait_for
from tests.factories import make_failed
from tests.notify.conftest import DELIVER, SECRET
from tests.notify.receivers import WebhookReceiver, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.workers]

FAST = {"interval": 1, "group_wait": 2, "group_interval": 5, "repeat_interval": 3600,
        **{rule: {"enabled": False} for rule in ("failure_rate", "queue_wait", "no_workers", "stuck")}}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(SECRET).start()
    yield server
    server.stop()


def channel_env(url: str, **alerts: object) -> dict[str, str]:
    return {"TASKBOARD_ALERTS": json.dumps({**FAST, **alerts}), "TASKBOARD_ALERT_WEBHOOK_URL": url,
            "TASKBOARD_WEBHOOK_SECRET": SECRET, "TASKBOARD_BASE_URL": "https://ops.example.com"}


def test_two_hosts_evaluate_once_and_deliver_one_firing_then_one_resolved(start_worker, receiver):  # noqa: F811
    env = channel_env(receiver.url)
    hosts = [start_worker(workers=1, extra_env=env), start_worker(workers=1, extra_env=env)]
    for i in range(20):
        make_failed(f"card declined for order {1000 + i}")
    wait_for(lambda: receiver.verified("alert.firing"), 60, interval=0.2, message="the alert.firing webhook")
    # Both clocks keep ticking; let the lease be renewed a few times before counting.
    renewed = AlertLease.objects.get().expires_at
    wait_for(lambda: AlertLease.objects.get().expires_at > renewed, 30, interval=0.2, message="another evaluation")
    [firing] = receiver.verified("alert.firing")
    assert firing["data"]["count"] == 20 and firing["data"]["rule"] == "dead_letter"
    assert firing["data"]["link"].startswith("https://ops.example.com/dashboard/failures/")
    holder = AlertLease.objects.get().holder
    assert holder in {f"{socket.gethostname()}:{host.process.pid}" for host in hosts}
    assert Notification.objects.count() == 1

    operations.discard_dead_letters(DeadLetter.objects.unresolved())
    wait_for(lambda: receiver.verified("alert.resolved"), 60, interval=0.2, message="the alert.resolved webhook")
    renewed = AlertLease.objects.get().expires_at
    wait_for(lambda: AlertLease.objects.get().expires_at > renewed, 30, interval=0.2, message="another evaluation")
    assert [p["type"] for p in receiver.verified()] == ["alert.firing", "alert.resolved"]
    assert TaskRun.objects.filter(task=DELIVER, status=Status.SUCCEEDED).count() == 2


def test_a_channel_that_stays_down_dead_letters_its_delivery_run(start_worker):  # noqa: F811
    start_worker(workers=1, extra_env=channel_env(f"http://127.0.0.1:{free_port()}/down", delivery_attempts=3,
                                                  delivery_backoff_max=1))
    make_failed()
    run = wait_for(lambda: TaskRun.objects.filter(task=DELIVER, status=Status.FAILED).first(), 90, interval=0.2,
                   message="the delivery run to dead-letter")
    assert run.attempts == 3 and run.dead_letter.is_open
    assert set(run.attempt_set.values_list("outcome", flat=True)) == {"retryable"}
    assert "unreachable" in run.last_error


def test_worker_processes_send_every_run_s_events_to_a_subscriber(start_worker, receiver):  # noqa: F811
    """Forked worker processes buffer, flush (one message per process and second, their
    thread's connection kept while busy) and deliver; nothing is lost or sent twice."""
    _, receiver.secret = operations.add_webhook(receiver.url, events=["run.started", "run.succeeded"])
    ids = {str(pk) for pk in enqueue_many(noop, [{}] * 200).ids}
    start_worker(workers=2)

    def events() -> list[tuple[str, str]]:
        return [(e["type"], e["data"]["id"]) for body in receiver.verified() for e in body["data"]["events"]]

    wait_for(lambda: len(events()) >= 400, 60, interval=0.2, message="400 run events")
    wait_for(lambda: not TaskRun.objects.filter(task=DELIVER).exclude(status=Status.SUCCEEDED).exists(), 30,
             interval=0.2, message="every delivery run succeeded")
    assert sorted(events()) == sorted((kind, run) for run in ids for kind in ("run.started", "run.succeeded"))
    assert all(p["type"] == "run.events" for p in receiver.verified())
