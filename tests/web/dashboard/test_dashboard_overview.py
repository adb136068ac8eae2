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


def test_stats_panel_polls_every_two_seconds_while_visible(viewer_client, db):
    content = panel(viewer_client, "stats")
    assert 'hx-get="/dashboard/panels/stats/"' in content
    assert "hx-trigger=\"every 2s [document.visibilityState === 'visible']\"" in content


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


def test_charts_are_server_rendered_svg(viewer_client, make_run, make_attempt):
    run = make_run(Status.SUCCEEDED)
    make_attempt(run, outcome=Outcome.SUCCEEDED)
    make_attempt(run, number=2)
    content = panel(viewer_client, "charts")
    assert content.count('<svg class="chart"') == 2
    assert "50 %</b> failed" in content


def test_charts_count_attempts_of_the_last_hour_per_minute(make_run, make_attempt):
    run = make_run(Status.SUCCEEDED)
    make_attempt(run, outcome=Outcome.SUCCEEDED)
    make_attempt(run, number=2, finished_at=timezone.now() - timedelta(hours=2))
    hour, day = overview.charts()
    assert (len(hour.buckets), hour.total, day.total) == (60, 1, 2)


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
