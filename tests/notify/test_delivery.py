"""Delivery runs (``taskboard.notify.deliver``) against real channels: an HTTP receiver that
verifies Standard Webhooks signatures, an SMTP server (aiosmtpd), Apprise's ``json://`` to an
HTTP receiver; a channel that is down retries with backoff and dead-letters its run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard import operations
from taskboard.execution.runner import execute
from taskboard.models import Alert, DeadLetter, NotificationEvent, Outcome, Status, TaskRun
from taskboard.notify import delivery
from taskboard.notify.config import alerts_config
from taskboard.service import clock
from tests.notify.conftest import deliveries, run_deliveries
from tests.notify.receivers import WebhookReceiver, free_port

# Deliveries run in-process: the runner's monitor thread checks the lease on its own connection,
# which must see the committed run.
pytestmark = pytest.mark.django_db(transaction=True)


def notify(event: NotificationEvent = NotificationEvent.FIRING, count: int = 50) -> Alert:
    now = timezone.now()
    alert = Alert.objects.create(rule="dead_letter", key="billing.charge 0123456789abcdef", count=count,
                                 summary="billing.charge: CardDeclined: card declined for order #",
                                 link="/dashboard/failures/0123456789abcdef/", started_at=now)
    delivery.send(alert, event, now, alerts_config())
    return alert


def run_until_settled(run: TaskRun, limit: int = 10) -> TaskRun:
    """Execute ``run``, and each retry as soon as the clock queues it, until it is finished."""
    for _ in range(limit):
        execute(str(run.pk))
        run.refresh_from_db()
        if run.is_finished:
            return run
        assert run.status == Status.RETRYING
        clock.dispatch_due(run.run_after)
    raise AssertionError(f"{run} did not finish")


def test_webhook_is_signed_per_standard_webhooks(receiver, settings):
    settings.TASKBOARD_BASE_URL = "https://ops.example.com"
    alert = notify()
    [run] = run_deliveries()
    assert run.status == Status.SUCCEEDED and run.result["status"] == 200
    [hit] = receiver.received
    assert hit.verified
    assert hit.headers["webhook-id"] == f"msg_alert_{alert.notification_set.get().pk}"
    assert hit.headers["webhook-signature"].startswith("v1,")
    assert hit.headers["content-type"] == "application/json"
    body = hit.payload
    assert set(body) == {"type", "timestamp", "data"}
    assert body["type"] == "alert.firing"
    assert body["data"] == {
        "id": alert.pk, "rule": "dead_letter", "state": "firing", "key": alert.key,
        "summary": alert.summary, "count": 50, "started_at": body["data"]["started_at"],
        "resolved_at": None, "silenced_until": None,
        "link": "https://ops.example.com/dashboard/failures/0123456789abcdef/",
    }


def test_a_wrong_secret_does_not_verify_and_is_refused(receiver, settings):
    settings.TASKBOARD_WEBHOOK_SECRET = "whsec_" + "QUJD" * 8  # another valid secret
    notify()
    [run] = run_deliveries()
    assert receiver.received and not receiver.received[0].verified
    # The receiver answers 401: the same bytes would be refused again, so no retry.
    assert run.status == Status.FAILED and run.attempts == 1
    assert "HTTP 401" in run.dead_letter.reason


def test_retries_keep_the_webhook_id_so_receivers_can_deduplicate(receiver):
    receiver.status = 503
    notify()
    [run] = run_deliveries()
    assert run.status == Status.RETRYING
    receiver.status = 200
    run = run_until_settled(run)
    assert run.status == Status.SUCCEEDED and run.attempts == 2
    ids = {hit.headers["webhook-id"] for hit in receiver.received}
    stamps = [hit.headers["webhook-timestamp"] for hit in receiver.received]
    assert len(receiver.received) == 2 and len(ids) == 1 and all(stamps)


def test_unreachable_channel_retries_with_backoff_then_dead_letters_its_delivery(no_channels):
    no_channels.TASKBOARD_ALERT_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/nobody-listens"
    no_channels.TASKBOARD_WEBHOOK_SECRET = "whsec_" + "QUJD" * 8
    no_channels.TASKBOARD_ALERTS = {"delivery_attempts": 3, "delivery_backoff_max": 2}
    notify()
    [run] = deliveries()
    assert run.max_attempts == 3
    run = run_until_settled(run)
    assert run.status == Status.FAILED
    attempts = list(run.attempt_set.order_by("number"))
    assert [a.outcome for a in attempts] == [Outcome.RETRYABLE] * 3
    assert all(a.retry_at is None or a.retry_at > a.finished_at for a in attempts)
    assert attempts[0].exception == "taskboard.notify.channels.ChannelError"
    assert "unreachable" in attempts[0].message and "127.0.0.1" in attempts[0].message
    letter = DeadLetter.objects.get(run=run)
    assert letter.task == "taskboard.notify.deliver" and letter.fingerprint == attempts[-1].fingerprint


def test_email_goes_through_a_real_smtp_server(smtp, settings):
    settings.TASKBOARD_BASE_URL = "https://ops.example.com"
    notify(count=50)
    [run] = run_deliveries()
    assert run.status == Status.SUCCEEDED
    [message] = smtp.messages
    assert smtp.inbox.recipients == [["ops@example.com", "oncall@example.com"]]
    assert message["Subject"].strip().startswith("[FIRING] dead_letter: billing.charge: CardDeclined")
    text = message.get_content()
    assert "Count: 50 open dead letters" in text
    assert "https://ops.example.com/dashboard/failures/0123456789abcdef/" in text


def test_email_falls_back_to_admins(smtp, settings):
    settings.TASKBOARD_ALERT_EMAILS = []
    settings.ADMINS = ["admin@example.com"]
    notify()
    run_deliveries()
    assert smtp.inbox.recipients == [["admin@example.com"]]


def test_email_to_a_server_that_is_down_is_retried(smtp, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                                    "OPTIONS": {"host": "127.0.0.1", "port": free_port(), "timeout": 2}}}
    notify()
    [run] = run_deliveries()
    assert run.status == Status.RETRYING
    assert run.attempt_set.get().exception == "taskboard.notify.channels.ChannelError"


def test_apprise_url_delivers_through_apprise(no_channels):
    chat = WebhookReceiver(secret=None).start()  # Apprise's json:// posts a JSON document
    try:
        no_channels.TASKBOARD_ALERT_URLS = [f"json://127.0.0.1:{chat.server.server_address[1]}/chat"]
        notify(NotificationEvent.RESOLVED)
        [run] = run_deliveries()
        assert run.status == Status.SUCCEEDED, run.last_error
        [hit] = chat.received
        assert hit.payload["title"].startswith("[RESOLVED] dead_letter: billing.charge")
        assert "Count: 50 open dead letters" in hit.payload["message"]
    finally:
        chat.stop()


def test_an_apprise_channel_that_is_down_is_retried(no_channels):
    no_channels.TASKBOARD_ALERT_URLS = [f"json://127.0.0.1:{free_port()}/chat"]
    notify()
    [run] = run_deliveries()
    assert run.status == Status.RETRYING
    assert run.attempt_set.get().message.startswith("apprise json:")


def test_enqueueing_the_task_by_hand_can_only_resend_a_real_notification(receiver):
    forged, _ = operations.enqueue("taskboard.notify.deliver", kwargs={"channel": "webhook", "notification": 10**9})
    execute(str(forged.pk))
    forged.refresh_from_db()
    assert forged.status == Status.FAILED and "does not exist" in forged.last_error
    assert receiver.received == []


def test_a_removed_channel_fails_its_pending_deliveries_for_good(receiver, settings):
    notify()
    settings.TASKBOARD_ALERT_WEBHOOK_URL = ""
    [run] = run_deliveries()
    assert run.status == Status.FAILED and run.attempts == 1


def test_deliveries_of_one_notification_are_enqueued_with_it_or_not_at_all(receiver):
    before = timezone.now() - timedelta(seconds=1)
    with pytest.raises(RuntimeError), __import__("django.db").db.transaction.atomic():
        notify()
        raise RuntimeError("the evaluation failed after deciding")
    assert not TaskRun.objects.filter(enqueued_at__gte=before).exists()


def test_failed_deliveries_are_not_reported_through_the_channel_that_failed(receiver, smtp):
    receiver.status = 400  # refused: the webhook delivery dead-letters at once
    notify()
    runs = run_deliveries()
    assert {r.kwargs["channel"]: r.status for r in runs} == {"webhook": Status.FAILED, "email": Status.SUCCEEDED}
    letter = DeadLetter.objects.get(task="taskboard.notify.deliver")
    about = Alert.objects.create(rule="dead_letter", key=f"taskboard.notify.deliver {letter.fingerprint}",
                                 summary="taskboard.notify.deliver: webhook refused", count=1)
    note = delivery.send(about, NotificationEvent.FIRING, timezone.now(), alerts_config())
    assert note.channels == ["email"]
