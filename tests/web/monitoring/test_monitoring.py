"""/healthz and /metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from taskboard.models import Outcome, Resolution, Status
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import (
    enqueue,
    failed_run,
    make_attempt,
    make_dead_letter,
    make_run,
    make_worker,
    succeeded_run,
)

pytestmark = pytest.mark.django_db

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: Client) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: value for (sample, labels), value in samples.items() if sample == name}


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


# --- /healthz -----------------------------------------------------------------------------------

def test_healthz_ok_with_a_fresh_worker() -> None:
    make_worker(seconds_ago=1)
    response = Client().get("/healthz")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


def test_healthz_needs_no_authentication_and_shows_only_figures() -> None:
    make_worker(seconds_ago=1)
    body = Client().get("/healthz").json()
    assert {k: body[k] for k in ("status", "database", "workers")} == {"status": "ok", "database": "ok", "workers": 1}
    # the detail is figures only: tests/web/monitoring/test_health_detail.py
    assert set(body["checks"]) == {"database", "workers", "queues", "breakers", "alerts"}


def test_healthz_503_without_workers() -> None:
    response = Client().get("/healthz")
    assert (response.status_code, response.json()["status"]) == (503, "unavailable")


def test_healthz_503_names_the_reason() -> None:
    assert "no worker heartbeat" in Client().get("/healthz").json()["reason"]


def test_healthz_503_with_a_stale_worker() -> None:
    make_worker(seconds_ago=60)
    assert Client().get("/healthz").status_code == 503


def test_healthz_503_with_a_stopped_worker() -> None:
    make_worker(seconds_ago=1, stopped=True)
    assert Client().get("/healthz").status_code == 503


def test_healthz_503_when_the_database_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr("taskboard.web.monitoring.views.connection.cursor", broken)
    response = Client().get("/healthz")
    assert (response.status_code, response.json()["reason"]) == (503, "the database is not answering")


def test_healthz_is_not_cached() -> None:
    assert "no-cache" in Client().get("/healthz")["Cache-Control"]


# --- /metrics access ----------------------------------------------------------------------------

def test_metrics_without_credentials_is_401() -> None:
    assert Client().get("/metrics").status_code == 401


def test_metrics_with_a_bad_token_is_401() -> None:
    assert Client(HTTP_AUTHORIZATION="Bearer nope").get("/metrics").status_code == 401


def test_metrics_with_a_token(viewer_api: Client) -> None:
    assert viewer_api.get("/metrics").status_code == 200


def test_metrics_with_a_staff_session(viewer_client: Client) -> None:
    assert viewer_client.get("/metrics").status_code == 200


def test_metrics_for_non_staff_is_403(outsider_api: Client) -> None:
    assert outsider_api.get("/metrics").status_code == 403


@override_settings(TASKBOARD={"METRICS_PUBLIC": True})
def test_public_metrics_need_no_credentials() -> None:
    assert Client().get("/metrics").status_code == 200


def test_metrics_content_type(viewer_api: Client) -> None:
    assert viewer_api.get("/metrics")["Content-Type"].startswith("text/plain")


def test_metrics_query_budget(viewer_api: Client, django_assert_max_num_queries: Any) -> None:
    for _ in range(5):
        failed_run()
    # 14 for the runs, queues and workers; 9 for flow control (held by reason, breakers with
    # one window count per configured breaker, limit utilisation).
    with django_assert_max_num_queries(23):
        viewer_api.get("/metrics")


# --- /metrics numbers ---------------------------------------------------------------------------

def test_open_runs_by_task_and_status(viewer_api: Client) -> None:
    enqueue(), enqueue()
    make_run(task="taskboard.demo.noop", status=Status.SCHEDULED, run_after=timezone.now() + timedelta(hours=1))
    make_run(task="taskboard.demo.sleep", status=Status.RUNNING, attempts=1)
    make_run(task="taskboard.demo.flaky", status=Status.RETRYING, attempts=1)
    succeeded_run()
    assert series(scrape(viewer_api), "taskboard_runs") == {
        labels(task="taskboard.demo.noop", status="queued"): 2,
        labels(task="taskboard.demo.noop", status="scheduled"): 1,
        labels(task="taskboard.demo.sleep", status="running"): 1,
        labels(task="taskboard.demo.flaky", status="retrying"): 1,
    }


def test_runs_finished_in_the_window(viewer_api: Client) -> None:
    failed_run(), failed_run()
    succeeded_run()
    make_run(status=Status.SUCCEEDED, finished_at=timezone.now() - timedelta(minutes=10))
    assert series(scrape(viewer_api), "taskboard_runs_finished") == {
        labels(task="taskboard.demo.fail", status="failed"): 2,
        labels(task="taskboard.demo.noop", status="succeeded"): 1,
    }


def test_attempts_by_task_and_outcome_in_the_window(viewer_api: Client) -> None:
    failed_run()
    succeeded_run()
    flaky = make_run(task="taskboard.demo.flaky", status=Status.RETRYING, attempts=3)
    make_attempt(flaky, 1, Outcome.RETRYABLE, finished_at=timezone.now() - timedelta(minutes=10))
    make_attempt(flaky, 2, Outcome.RETRYABLE)
    make_attempt(flaky, 3, Outcome.TIMEOUT)
    assert series(scrape(viewer_api), "taskboard_attempts") == {
        labels(task="taskboard.demo.fail", outcome="permanent"): 1,
        labels(task="taskboard.demo.noop", outcome="succeeded"): 1,
        labels(task="taskboard.demo.flaky", outcome="retryable"): 1,
        labels(task="taskboard.demo.flaky", outcome="timeout"): 1,
    }


def test_open_dead_letters_by_task(viewer_api: Client) -> None:
    failed_run(), failed_run()
    resolved = make_dead_letter(make_run(task="taskboard.demo.flaky", status=Status.FAILED))
    resolved.resolve(Resolution.DISCARDED, "test")
    assert series(scrape(viewer_api), "taskboard_dead_letters_open") == {labels(task="taskboard.demo.fail"): 2}


def test_queue_depth(viewer_api: Client) -> None:
    enqueue(), enqueue()
    make_run(status=Status.RUNNING)
    make_run(queue="reports")
    assert series(scrape(viewer_api), "taskboard_queue_depth") == {
        labels(queue="default"): 2, labels(queue="reports"): 1,
    }


def test_queue_depth_lists_configured_queues_when_empty(viewer_api: Client) -> None:
    assert series(scrape(viewer_api), "taskboard_queue_depth") == {labels(queue="default"): 0}


def test_oldest_wait(viewer_api: Client) -> None:
    make_run(enqueued_at=timezone.now() - timedelta(seconds=120))
    make_run(enqueued_at=timezone.now() - timedelta(seconds=30))
    age = series(scrape(viewer_api), "taskboard_queue_oldest_wait_seconds")[labels(queue="default")]
    assert 120 <= age < 130


def test_oldest_wait_counts_from_run_after(viewer_api: Client) -> None:
    now = timezone.now()
    make_run(enqueued_at=now - timedelta(hours=1), run_after=now - timedelta(seconds=60))
    age = series(scrape(viewer_api), "taskboard_queue_oldest_wait_seconds")[labels(queue="default")]
    assert 60 <= age < 70


def _timed_run(wait: float, run_time: float, task: str = "taskboard.demo.noop") -> None:
    finished = timezone.now() - timedelta(seconds=1)
    started = finished - timedelta(seconds=run_time)
    make_run(task=task, status=Status.SUCCEEDED, enqueued_at=started - timedelta(seconds=wait),
             started_at=started, finished_at=finished)


def test_run_duration_histogram(viewer_api: Client) -> None:
    _timed_run(wait=0.2, run_time=3)
    _timed_run(wait=0.2, run_time=40)
    samples = scrape(viewer_api)
    buckets = series(samples, "taskboard_run_duration_seconds_bucket")
    noop = "taskboard.demo.noop"
    assert (buckets[labels(task=noop, le="2.5")], buckets[labels(task=noop, le="5.0")],
            buckets[labels(task=noop, le="60.0")], buckets[labels(task=noop, le="+Inf")],
            samples[("taskboard_run_duration_seconds_sum", labels(task=noop))]) == (0, 1, 2, 2, 43)


def test_queue_wait_histogram(viewer_api: Client) -> None:
    _timed_run(wait=0.2, run_time=1)
    _timed_run(wait=7, run_time=1)
    samples = scrape(viewer_api)
    buckets = series(samples, "taskboard_queue_wait_seconds_bucket")
    noop = "taskboard.demo.noop"
    assert (buckets[labels(task=noop, le="0.25")], buckets[labels(task=noop, le="10.0")],
            samples[("taskboard_queue_wait_seconds_count", labels(task=noop))]) == (1, 2, 2)


def test_histograms_leave_out_runs_finished_before_the_window(viewer_api: Client) -> None:
    make_run(status=Status.SUCCEEDED, enqueued_at=timezone.now() - timedelta(hours=1),
             started_at=timezone.now() - timedelta(hours=1), finished_at=timezone.now() - timedelta(minutes=6))
    assert series(scrape(viewer_api), "taskboard_run_duration_seconds_count") == {}


def test_workers_alive(viewer_api: Client) -> None:
    make_worker(name="fresh", seconds_ago=1)
    make_worker(name="stale", seconds_ago=60)
    make_worker(name="stopped", seconds_ago=1, stopped=True)
    assert scrape(viewer_api)[("taskboard_workers_alive", frozenset())] == 1


def test_window_is_exported(viewer_api: Client) -> None:
    assert scrape(viewer_api)[("taskboard_metrics_window_seconds", frozenset())] == 300
