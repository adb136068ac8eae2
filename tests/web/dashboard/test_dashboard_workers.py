"""The workers page: node states, what each node runs now, django-q2's cluster view."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from taskboard.models import Status, WorkerNode
from taskboard.transport import cluster as transport_cluster


def node(hostname="host-a", pid=10, **fields):
    defaults = {"id": uuid.uuid4().hex, "hostname": hostname, "pid": pid, "queues": ["default"],
                "cluster_pids": {"default": [101, 102]}}
    return WorkerNode.objects.create(**{**defaults, **fields})


def section(content, name):
    """The HTML of one node's panel."""
    return content.split(f'aria-label="Worker {name}"')[1].split("</section>")[0]


@pytest.mark.parametrize(("fields", "state"), [
    ({}, "alive"),
    ({"last_seen": timezone.now() - timedelta(minutes=2)}, "stale"),
    ({"stopped_at": timezone.now()}, "stopped"),
])
def test_node_state(viewer_client, db, fields, state):
    node(**fields)
    content = viewer_client.get("/dashboard/workers/").content.decode()
    assert f'<span class="badge ws-{state}">' in section(content, "host-a:10")


def test_node_shows_processes_restarts_and_reason(viewer_client, db):
    node(restarts=2, last_restart_reason="wedged: work waiting in the cluster")
    content = section(viewer_client.get("/dashboard/workers/").content.decode(), "host-a:10")
    assert "default: 101 102" in content
    assert "2 <span class=\"warn-text small\">— wedged: work waiting in the cluster</span>" in content


def test_running_runs_are_listed_under_their_node(viewer_client, make_run):
    node()
    node(hostname="host-b", pid=20, cluster_pids={"default": [201]})
    run = make_run(Status.RUNNING, worker="host-b:201", progress=30)
    content = viewer_client.get("/dashboard/workers/").content.decode()
    assert str(run.pk)[:8] in section(content, "host-b:20")
    assert str(run.pk)[:8] not in section(content, "host-a:10")
    assert 'aria-valuenow="30"' in section(content, "host-b:20")


def test_running_runs_of_unknown_workers_are_listed_apart(viewer_client, make_run):
    node()
    run = make_run(Status.RUNNING, worker="gone-host:1")
    content = viewer_client.get("/dashboard/workers/").content.decode()
    assert "Running on unknown workers (1)" in content
    assert str(run.pk)[:8] in content.split("Running on unknown workers")[1]


def test_cluster_stats_are_shown(viewer_client, db, monkeypatch):
    monkeypatch.setattr(transport_cluster, "cluster_stats", lambda: [{
        "cluster_id": "abcdef1234", "host": "host-a", "pid": 77, "sentinel": 78, "workers": [1, 2],
        "status": "Working", "reincarnations": 1, "uptime": 125.0, "task_q_size": 3, "queue": "default"}])
    content = viewer_client.get("/dashboard/workers/").content.decode()
    assert '<td class="mono">abcdef12</td>' in content
    assert "<td>working</td>" in content
    assert "2 m 05 s" in content


def test_page_survives_an_unreadable_cluster_cache(viewer_client, db, monkeypatch):
    def broken():
        raise ConnectionError("cache down")

    monkeypatch.setattr(transport_cluster, "cluster_stats", broken)
    response = viewer_client.get("/dashboard/workers/")
    assert response.status_code == 200
    assert "Cluster status is unavailable" in response.content.decode()


def test_nodes_fragment_polls(viewer_client, db):
    content = viewer_client.get("/dashboard/workers/", HTTP_HX_REQUEST="true").content.decode()
    assert content.lstrip().startswith('<div id="nodes" hx-get="/dashboard/workers/"')


def test_a_cluster_whose_worker_runs_something_is_working(viewer_client, make_run, monkeypatch):
    # Issue 12: django-q2 reports "Idle" while its worker executes a run; the page showed
    # "Idle" for the cluster next to the node's "Running now (1)".
    node()
    make_run(Status.RUNNING, worker="host-a:101")
    monkeypatch.setattr(transport_cluster, "cluster_stats", lambda: [{
        "cluster_id": "abcdef1234", "host": "host-a", "pid": 77, "sentinel": 78, "workers": [101, 102],
        "status": "Idle", "reincarnations": 0, "uptime": 5.0, "task_q_size": 0, "queue": "default"}])
    content = viewer_client.get("/dashboard/workers/").content.decode()
    assert "Running now (1)" in section(content, "host-a:10")
    cluster_row = content.split('<td class="mono">abcdef12</td>')[1].split("</tr>")[0]
    assert "working" in cluster_row and "1 running" in cluster_row
    assert "Idle" not in cluster_row and "idle" not in cluster_row


def test_bidi_controls_in_a_hostname_show_escaped(viewer_client, db):
    node(hostname="evil\u202eost")
    content = viewer_client.get("/dashboard/workers/").content.decode()
    assert "\u202e" not in content
    assert "evil\\u202eost:10" in content
