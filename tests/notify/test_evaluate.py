"""Evaluation: alerts open, group, notify (group wait, group interval, repeat), resolve, and
stay quiet while silenced. Deliveries are run in-process by the runner against a real HTTP
receiver that verifies the Standard Webhooks signature."""

from __future__ import annotations

from datetime import timedelta

import pytest

from taskboard import operations
from taskboard.models import Alert, AlertState, DeadLetter, Notification, Status
from tests.factories import make_failed
from tests.notify.conftest import at, deliveries, now, run_deliveries

# Deliveries run in-process: the runner's monitor thread checks the lease on its own connection,
# which must see the committed run.
pytestmark = pytest.mark.django_db(transaction=True)

S = timedelta(seconds=1)
ONLY_DEAD_LETTERS = {rule: {"enabled": False} for rule in ("failure_rate", "queue_wait", "no_workers", "stuck")}


@pytest.fixture(autouse=True)
def dead_letter_rule_only(settings):
    # The failed runs these tests make would also trip failure_rate (100 % failed), and the
    # delivery runs no_workers (no worker serves them here).
    settings.TASKBOARD_ALERTS = ONLY_DEAD_LETTERS


def dead_letters(n: int, start: int = 0, message: str = "card declined for order {}") -> None:
    """``n`` failed runs of one failure group (the order number differs, the fingerprint not)."""
    for i in range(start, start + n):
        make_failed(message.format(1000 + i))


def test_burst_of_fifty_dead_letters_sends_one_firing_with_its_count_then_one_resolved(receiver):
    t0 = now()
    dead_letters(10)
    at(t0)
    alert = Alert.objects.get()
    assert (alert.rule, alert.state, alert.count) == ("dead_letter", AlertState.FIRING, 10)
    dead_letters(40, start=10)  # the rest of the burst, within the group wait
    at(t0 + 10 * S)
    assert deliveries() == []  # still waiting for the group to settle
    at(t0 + 31 * S)
    at(t0 + 45 * S)
    assert len(deliveries()) == 1
    assert [run.status for run in run_deliveries()] == [Status.SUCCEEDED]
    [firing] = receiver.verified()
    assert firing["type"] == "alert.firing"
    assert firing["data"]["count"] == 50
    assert firing["data"]["rule"] == "dead_letter"
    assert firing["data"]["link"].endswith(f"/dashboard/failures/{DeadLetter.objects.first().fingerprint}/")

    # The group clears when its dead letters are resolved (replayed or discarded).
    operations.discard_dead_letters(DeadLetter.objects.unresolved())
    at(t0 + 60 * S)
    at(t0 + 90 * S)
    run_deliveries()
    assert [p["type"] for p in receiver.verified()] == ["alert.firing", "alert.resolved"]
    resolved = receiver.verified("alert.resolved")[0]["data"]
    assert resolved["state"] == "resolved" and resolved["id"] == alert.pk and resolved["resolved_at"]
    assert Alert.objects.get().state == AlertState.RESOLVED


def test_a_group_that_grows_is_told_again_after_the_group_interval_and_repeats_when_unchanged(no_channels):
    t0 = now()
    dead_letters(3)
    at(t0)
    at(t0 + 31 * S)
    assert Notification.objects.count() == 1
    dead_letters(2, start=3)
    at(t0 + 100 * S)  # grew, but the group interval (300 s) has not passed
    assert Notification.objects.count() == 1
    at(t0 + 332 * S)
    assert [n.payload["count"] for n in Notification.objects.order_by("id")] == [3, 5]
    at(t0 + 600 * S)  # unchanged: only the repeat interval (4 h) brings it back
    assert Notification.objects.count() == 2
    at(t0 + 332 * S + timedelta(hours=4))
    assert Notification.objects.count() == 3


def test_an_alert_that_clears_before_its_first_notification_sends_nothing(receiver):
    t0 = now()
    dead_letters(2)
    at(t0)
    operations.discard_dead_letters(DeadLetter.objects.unresolved())
    at(t0 + 5 * S)
    at(t0 + 60 * S)
    assert Alert.objects.get().state == AlertState.RESOLVED
    assert deliveries() == [] and Notification.objects.count() == 0


def test_a_silenced_alert_sends_nothing_not_even_its_resolution(receiver):
    t0 = now()
    dead_letters(5)
    at(t0)
    alert = Alert.objects.get()
    operations.silence_alert(alert.pk, minutes=60, reason="known: the card processor is down")
    at(t0 + 31 * S)
    dead_letters(5, start=5)
    at(t0 + 400 * S)
    operations.discard_dead_letters(DeadLetter.objects.unresolved())
    at(t0 + 500 * S)
    assert Alert.objects.get().state == AlertState.RESOLVED
    assert deliveries() == [] and receiver.received == []


def test_a_silence_mutes_the_groups_recurrence_and_ends_on_time(no_channels):
    t0 = now()
    dead_letters(1)
    at(t0)
    operations.silence_alert(Alert.objects.get().pk, minutes=10, reason="deploying")
    operations.discard_dead_letters(DeadLetter.objects.unresolved())
    at(t0 + S)
    dead_letters(1, start=1)  # it comes back within the silence: the new alert is silenced too
    at(t0 + 2 * S)
    recurrence = Alert.objects.firing().get()
    assert recurrence.is_silenced(t0 + 2 * S) and recurrence.silence_reason == "deploying"
    at(t0 + 60 * S)
    assert Notification.objects.count() == 0
    at(t0 + 11 * 60 * S)  # the silence is over: the firing alert is told
    assert Notification.objects.filter(event="alert.firing").count() == 1


def test_groups_are_separate_alerts(no_channels):
    dead_letters(2)
    dead_letters(3, message="address {} is not deliverable")
    at(now())
    assert sorted(Alert.objects.values_list("count", flat=True)) == [2, 3]
    assert len({a.key for a in Alert.objects.all()}) == 2


def test_a_rule_switched_off_resolves_its_alerts(no_channels, settings):
    dead_letters(1)
    t0 = now()
    at(t0)
    settings.TASKBOARD_ALERTS = {**ONLY_DEAD_LETTERS, "dead_letter": {"enabled": False}}
    at(t0 + S)
    assert Alert.objects.get().state == AlertState.RESOLVED


def test_no_channel_configured_still_records_the_notification(no_channels):
    dead_letters(1)
    t0 = now()
    at(t0)
    at(t0 + 31 * S)
    note = Notification.objects.get()
    assert note.channels == [] and deliveries() == []
    assert Alert.objects.get().last_notified_at is not None


def test_each_configured_channel_gets_its_own_delivery_run(receiver, settings):
    settings.TASKBOARD_ALERT_EMAILS = ["ops@example.com"]
    settings.TASKBOARD_ALERT_URLS = ["json://127.0.0.1:9/", "mailto://user:pass@example.com"]
    dead_letters(1)
    t0 = now()
    at(t0)
    at(t0 + 31 * S)
    channels = sorted(run.kwargs["channel"] for run in deliveries())
    assert channels[:2] == ["apprise:" + channels[0][8:], "apprise:" + channels[1][8:]]
    assert channels[2:] == ["email", "webhook"]
    assert {run.kwargs["notification"] for run in deliveries()} == {Notification.objects.get().pk}
