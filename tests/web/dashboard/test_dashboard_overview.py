"""The overview page and its polled panels."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from django.utils import timezone

from taskboard.models import Outcome, Status, WorkerNode
from taskboard.readmodels import counts, overview
from taskboard.transport import cluster as transport_cluster


def tile(content, label):
    """The number on the status tile whose badge reads ``label``."""
    match = re.search(rf'>{label}</span></span>\s*<span class="tile-value">([^<]+)<', content)
    return match and match.group(1)


def panel(client, name):
    return client.get(f"/dashboard/panels/{name}/").content.decode()


def test_counts_runs_by_status(viewer_client, make_run):
    make_run(Status.QUEUED)
    make_run(Status.QUEUED)
    make_run(Status.FAILED)
    content = panel(viewer_client, "stats")
    assert (tile(content, "queued"), tile(content, "failed"), tile(content, "running")) == ("2", "1", "0")


def test_status_counts_are_bounded(viewer_client, make_run, monkeypatch):
    monkeypatch.setattr(counts, "PANEL_COUNT_BOUND", 2)
    for _ in range(3):
        make_run(Status.QUEUED)
    assert tile(panel(viewer_client, "stats"), "queued") == "2+"


def test_counts_open_dead_letters(viewer_client, make_failed):
    make_failed()
    assert re.search(r'Open dead letters</span>\s*<span class="tile-value">1<', panel(viewer_client, "stats"))


def test_stats_panel_polls_every_two_seconds(viewer_client, db):
    content = panel(viewer_client, "stats")
    assert 'hx-get="/dashboard/panels/stats/"' in content
    assert 'hx-trigger="every 2s"' in content


def test_queue_panel_shows_depth_and_age_of_the_oldest_waiting_run(viewer_client, make_run):
    make_run(Status.QUEUED, ago=7 * 60, dispatched_at=timezone.now() - timedelta(minutes=7))
    make_run(Status.QUEUED, dispatched_at=timezone.now())
    content = panel(viewer_client, "queues")
    assert '&amp;status=queued">2</a>' in content
    assert "7 min ago" in content


def test_queue_panel_age_is_since_ready_not_since_the_last_push(viewer_client, make_run):
    make_run(Status.QUEUED, ago=7 * 60, dispatched_at=timezone.now())  # re-pushed just now
    assert "7 min ago" in panel(viewer_client, "queues")


def test_queue_panel_age_of_a_delayed_run_starts_at_its_run_after(viewer_client, make_run):
    make_run(Status.QUEUED, ago=60 * 60, run_after=timezone.now() - timedelta(minutes=7))
    assert "7 min ago" in panel(viewer_client, "queues")


def test_queue_panel_survives_a_broker_error(viewer_client, db, monkeypatch):
    def broken(queue):
        raise ConnectionError("redis down")

    monkeypatch.setattr(transport_cluster, "queue_depth", broken)
    assert 'title="broker unavailable"' in panel(viewer_client, "queues")


def finished(make_run, make_attempt, status, attempts=1, ago=0):
    """A run that finished ``ago`` seconds ago with ``status`` after ``attempts`` attempts."""
    end = timezone.now() - timedelta(seconds=ago)
    run = make_run(status, finished_at=end, attempts=attempts)
    last = {Status.SUCCEEDED: Outcome.SUCCEEDED, Status.CANCELLED: Outcome.CANCELLED}.get(status, Outcome.PERMANENT)
    for number in range(1, attempts + 1):
        make_attempt(run, number=number, outcome=last if number == attempts else Outcome.RETRYABLE,
                     finished_at=end - timedelta(seconds=attempts - number))
    return run


def test_charts_are_server_rendered_svg(viewer_client, make_run, make_attempt):
    finished(make_run, make_attempt, Status.SUCCEEDED)
    finished(make_run, make_attempt, Status.FAILED)
    content = panel(viewer_client, "charts")
    assert content.count('<svg class="chart"') == 2
    assert "50 %</b> failed" in content


def test_charts_count_finished_runs_not_attempts(viewer_client, make_run, make_attempt):
    # Issue 12: 12 runs finished, 6 of them failed after 3 attempts each; the chart said
    # "18 finished, 67 % failed" (it counted attempts) under a "runs/min" label.
    for _ in range(6):
        finished(make_run, make_attempt, Status.SUCCEEDED)
        finished(make_run, make_attempt, Status.FAILED, attempts=3)
    hour, day = overview.charts()
    assert (hour.finished, hour.failed, hour.failure_rate) == (12, 6, 0.5)
    assert (day.finished, day.failed) == (12, 6)
    content = panel(viewer_client, "charts")
    assert "<b>12</b> finished · <b>50 %</b> failed" in content
    assert "runs/min" in content
    assert 'aria-label="Last hour: 12 runs finished, 6 failed, 0 cancelled"' in content


def test_an_operators_cancel_is_not_a_failure_in_the_charts(viewer_client, make_run, make_attempt):
    finished(make_run, make_attempt, Status.SUCCEEDED)
    finished(make_run, make_attempt, Status.CANCELLED)
    hour, _ = overview.charts()
    assert (hour.finished, hour.failed, hour.cancelled, hour.failure_rate) == (2, 0, 1, 0.0)
    content = panel(viewer_client, "charts")
    assert "<b>0 %</b> failed · 1 cancelled" in content
    assert '<rect class="off"' in content


def test_charts_put_runs_in_the_minute_and_hour_they_finished(make_run, make_attempt):
    finished(make_run, make_attempt, Status.SUCCEEDED)
    finished(make_run, make_attempt, Status.SUCCEEDED, ago=2 * 3600)
    finished(make_run, make_attempt, Status.SUCCEEDED, ago=30 * 3600)  # outside both windows
    hour, day = overview.charts()
    assert (len(hour.buckets), hour.finished, len(day.buckets), day.finished) == (60, 1, 24, 2)
    assert hour.buckets[-1].succeeded == 1


def test_charts_of_one_task(make_run, make_attempt):
    finished(make_run, make_attempt, Status.SUCCEEDED)
    # Finished now: make_run's default (enqueued + 3 s) lands in the next minute near its end.
    make_run(Status.FAILED, task="taskboard.demo.fail", finished_at=timezone.now())
    hour, _ = overview.charts(task="taskboard.demo.fail")
    assert (hour.finished, hour.failed) == (1, 1)


def test_latest_failures_leave_an_operators_cancel_out(viewer_client, make_run, make_attempt):
    run = make_run(Status.CANCELLED)
    make_attempt(run, outcome=Outcome.CANCELLED, exception="taskboard.exceptions.TaskCancelled",
                 message="Cancelled by operator.")
    assert overview.latest_failures() == []
    assert "TaskCancelled" not in panel(viewer_client, "failures")


def test_workers_panel_lists_fresh_heartbeats_only(viewer_client, db):
    WorkerNode.objects.create(id=uuid.uuid4().hex, hostname="fresh-host", pid=1, cluster_pids={"default": [5]})
    WorkerNode.objects.create(id=uuid.uuid4().hex, hostname="old-host", pid=2,
                              last_seen=timezone.now() - timedelta(minutes=5))
    content = panel(viewer_client, "workers")
    assert "fresh-host:1" in content and "old-host" not in content


def test_workers_panel_survives_missing_cluster_stats(viewer_client, db, monkeypatch):
    def broken():
        raise RuntimeError("cache empty")

    monkeypatch.setattr(transport_cluster, "cluster_stats", broken)
    assert "cluster status unavailable" in panel(viewer_client, "workers")


def test_workers_panel_shows_cluster_stats(viewer_client, db, monkeypatch):
    monkeypatch.setattr(transport_cluster, "cluster_stats", lambda: [
        {"queue": "default", "status": "Idle", "workers": [1, 2], "cluster_id": "c", "host": "h", "pid": 3}])
    assert "1 cluster reporting — default idle (2 workers)" in panel(viewer_client, "workers")


def test_a_cluster_whose_worker_runs_something_is_working_not_idle(viewer_client, make_run, monkeypatch):
    # Issue 12: django-q2 says "Idle" while its worker executes a run (the message has left its
    # queue); the panel said "Idle" beside the node's "Running now (1)".
    monkeypatch.setattr(transport_cluster, "cluster_stats", lambda: [
        {"queue": "default", "status": "Idle", "workers": [101, 102], "cluster_id": "c", "host": "host-a",
         "pid": 3}])
    make_run(Status.RUNNING, worker="host-a:102")
    assert "default working, 1 running (2 workers)" in panel(viewer_client, "workers")


def test_panels_poll_without_eval(viewer_client, db):
    # The Content-Security-Policy forbids eval, which htmx needs for "every 2s [filter]":
    # taskboard's live.js holds polls while the tab is hidden or updates are paused instead.
    content = viewer_client.get("/dashboard/").content.decode()
    triggers = re.findall(r'hx-trigger="([^"]*)"', content)
    assert triggers and all("[" not in trigger for trigger in triggers)
    assert '"allowEval":false' in content


def test_latest_failures_link_their_runs(viewer_client, make_failed):
    run = make_failed("gateway timeout")
    content = panel(viewer_client, "failures")
    assert f'href="/dashboard/runs/{run.pk}/"' in content
    assert "PermanentError: gateway timeout" in content


def test_overview_page_contains_every_panel(viewer_client, db):
    content = viewer_client.get("/dashboard/").content.decode()
    for name in ("stats", "queues", "charts", "workers", "failures"):
        assert f'id="panel-{name}"' in content


def test_hostile_failure_message_is_escaped(viewer_client, make_failed):
    make_failed("<img src=x onerror=alert(1)>")
    content = panel(viewer_client, "failures")
    assert "<img src=x" not in content
    assert "&lt;img src=x onerror=alert(1)&gt;" in content


def test_bidi_controls_in_a_failure_message_show_escaped(viewer_client, make_failed):
    make_failed("invoice_\u202egpj.exe")
    content = panel(viewer_client, "failures")
    assert "\u202e" not in content
    assert "invoice_\\u202egpj.exe" in content
