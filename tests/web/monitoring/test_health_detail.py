"""``/healthz`` detail: each queue's oldest wait against its SLO, breakers not closed, firing
alerts — figures only (no arguments, messages, summaries), and never a reason for a 503."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from taskboard.models import Alert, AlertRule, Breaker, BreakerState, Status
from tests.factories import make_failed, make_run, make_worker

pytestmark = pytest.mark.django_db

SECRET_ARG = "customer-4242-secret"


def health() -> tuple[int, dict]:
    response = Client().get("/healthz")
    return response.status_code, response.json()


def test_all_well():
    make_worker()
    status, body = health()
    assert status == 200
    assert body["checks"] == {
        "database": {"status": "ok"},
        "workers": {"status": "ok", "alive": 1},
        "queues": {"status": "ok", "queues": {"default": {"oldest_wait_seconds": 0.0, "slo_seconds": 300.0,
                                                          "ok": True}}},
        "breakers": {"status": "ok", "open": 0, "half_open": 0},
        "alerts": {"status": "ok", "firing": 0},
    }


def test_degraded_checks_are_detailed_but_keep_the_200():
    make_worker()
    make_run(Status.QUEUED, ago=900, kwargs={"value": SECRET_ARG})
    Breaker.objects.create(name="payments-secret-name", state=BreakerState.OPEN, opened_at=timezone.now())
    make_failed(f"card of {SECRET_ARG} declined")
    Alert.objects.create(rule="dead_letter", key=f"x {SECRET_ARG}", summary=f"declined {SECRET_ARG}", count=1)
    status, body = health()
    assert status == 200 and body["status"] == "ok"
    checks = body["checks"]
    queue = checks["queues"]["queues"]["default"]
    assert checks["queues"]["status"] == "degraded" and not queue["ok"] and queue["oldest_wait_seconds"] >= 900
    assert checks["breakers"] == {"status": "degraded", "open": 1, "half_open": 0}
    assert checks["alerts"] == {"status": "degraded", "firing": 1}
    text = json.dumps(body)
    assert SECRET_ARG not in text and "payments-secret-name" not in text and "declined" not in text


def test_the_slo_is_the_queue_wait_rules_threshold_for_that_queue(settings):
    make_worker()
    make_run(Status.QUEUED, ago=900)
    AlertRule.objects.create(rule="queue_wait", scope="default", threshold=3600)
    assert health()[1]["checks"]["queues"]["queues"]["default"] == {
        "oldest_wait_seconds": pytest.approx(900, abs=5), "slo_seconds": 3600.0, "ok": True}
    AlertRule.objects.filter(scope="default").update(enabled=False, threshold=None)
    assert health()[1]["checks"]["queues"]["queues"]["default"]["slo_seconds"] is None


def test_no_workers_is_still_a_503_with_the_detail():
    make_worker(seconds_ago=timedelta(minutes=5).total_seconds())
    status, body = health()
    assert status == 503 and body["checks"]["workers"] == {"status": "unavailable", "alive": 0}
    assert "queues" in body["checks"]


def test_health_is_a_fixed_number_of_queries(django_assert_max_num_queries):
    make_worker()
    for i in range(30):
        make_run(Status.QUEUED, ago=i)
        Alert.objects.create(rule="queue_wait", key=f"q{i}", summary="s", count=1)
    with django_assert_max_num_queries(7):
        assert health()[0] == 200


def test_metrics_count_firing_alerts_by_rule(settings):
    settings.TASKBOARD = {**settings.TASKBOARD, "METRICS_PUBLIC": True}
    Alert.objects.create(rule="dead_letter", key="a", summary="s", count=1)
    Alert.objects.create(rule="dead_letter", key="b", summary="s", count=1)
    Alert.objects.create(rule="queue_wait", key="c", summary="s", count=1, state="resolved")
    text = Client().get("/metrics").content.decode()
    assert 'taskboard_alerts_firing{rule="dead_letter"} 2.0' in text
    assert 'rule="queue_wait"' not in text
