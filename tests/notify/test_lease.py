"""One evaluator at a time across hosts: the lease row, and notifications that are decided once
even when two evaluators overlap (a holder that stalled past its lease)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from taskboard.models import Alert, AlertLease, Notification
from taskboard.notify import evaluate
from tests.factories import make_failed

S = timedelta(seconds=1)


@pytest.mark.django_db
def test_the_holder_keeps_the_lease_others_wait_for_it_to_expire():
    t0 = timezone.now()
    assert evaluate.evaluate(now=t0, holder="host-a:1").held
    assert not evaluate.evaluate(now=t0 + S, holder="host-b:2").held
    assert evaluate.evaluate(now=t0 + 10 * S, holder="host-a:1").held  # renewed: 15 s from now
    assert not evaluate.evaluate(now=t0 + 20 * S, holder="host-b:2").held
    assert evaluate.evaluate(now=t0 + 26 * S, holder="host-b:2").held  # host-a went quiet
    assert not evaluate.evaluate(now=t0 + 27 * S, holder="host-a:1").held
    assert AlertLease.objects.get().holder == "host-b:2"


@pytest.mark.django_db
def test_a_stopping_holder_hands_the_lease_over(monkeypatch):
    t0 = timezone.now()
    monkeypatch.setattr(evaluate, "process_identity", lambda: "host-a:1")
    assert evaluate.evaluate(now=t0).held
    evaluate.release()
    assert evaluate.evaluate(now=t0 + S, holder="host-b:2").held


@pytest.mark.django_db(transaction=True)
def test_hosts_racing_for_an_expired_lease_get_one_holder() -> None:
    AlertLease.objects.create(name=evaluate.LEASE, holder="dead-host:1", expires_at=timezone.now() - S)
    now = timezone.now()
    results: dict[str, bool] = {}
    barrier = threading.Barrier(6)

    def take(holder: str) -> None:
        try:
            barrier.wait()
            results[holder] = AlertLease.acquire(evaluate.LEASE, holder, now, 15)
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(f"host-{i}:1",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results.values()) == 1
    [winner] = [holder for holder, won in results.items() if won]
    assert AlertLease.objects.get().holder == winner


@pytest.mark.django_db
def test_two_evaluators_that_overlap_send_a_notification_once(settings):
    settings.TASKBOARD_ALERTS = {"failure_rate": {"enabled": False}, "no_workers": {"enabled": False}}
    make_failed()
    t0 = timezone.now()
    evaluate.evaluate(now=t0, holder="host-a:1")
    due = t0 + 31 * S
    # host-a stalled past its lease while host-b took over; both decide the same notification.
    stale = Alert.objects.get()
    assert evaluate.evaluate(now=due + 20 * S, holder="host-b:2").notified == 1
    assert not stale.claim_notification(due)
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_an_alert_opens_once_per_group():
    now = timezone.now()
    assert Alert.open("dead_letter", "t f", "s", 1, "", now) is not None
    assert Alert.open("dead_letter", "t f", "s", 1, "", now) is None
    assert Alert.objects.count() == 1


@pytest.mark.django_db
def test_the_holder_renews_in_one_statement_and_notices_a_take_over(django_assert_num_queries: Any) -> None:
    t0 = timezone.now()
    assert AlertLease.acquire(evaluate.LEASE, "host-a:1", t0, 15)
    with django_assert_num_queries(1):
        assert AlertLease.acquire(evaluate.LEASE, "host-a:1", t0 + S, 15)
    assert AlertLease.acquire(evaluate.LEASE, "host-b:2", t0 + 20 * S, 15)  # host-a stalled
    assert not AlertLease.acquire(evaluate.LEASE, "host-a:1", t0 + 21 * S, 15)
    assert AlertLease.objects.get().holder == "host-b:2"
