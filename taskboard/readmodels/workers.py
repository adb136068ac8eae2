"""Workers: which ``taskboard_worker`` processes are alive, and what they run now.

Liveness has one definition: a ``WorkerNode`` is alive while it has not stopped and its
dispatcher heartbeat (``last_seen``) is younger than ``TASKBOARD_WORKER_STALE_SECONDS``;
a node that has not stopped but missed its heartbeat is ``stale``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db.models import QuerySet
from django.utils import timezone

from taskboard.models import Status, TaskRun, WorkerNode
from taskboard.models.nodes import process_identity
from taskboard.transport import cluster as transport_cluster

logger = logging.getLogger("taskboard.dashboard")

NodeState = Literal["alive", "stale", "stopped"]


def live_workers(now: datetime | None = None) -> QuerySet[WorkerNode]:
    """WorkerNodes (``taskboard_worker`` processes) whose heartbeat is fresh."""
    return WorkerNode.objects.alive(now)


def node_state(node: WorkerNode, now: datetime | None = None) -> NodeState:
    if node.stopped_at is not None:
        return "stopped"
    return "alive" if node.is_alive(now) else "stale"


@dataclass
class NodeView:
    node: WorkerNode
    state: NodeState
    running: list[TaskRun] = field(default_factory=list)

    @property
    def identities(self) -> set[str]:
        return self.node.worker_identities()

    @property
    def processes(self) -> int:
        return sum(len(pids) for pids in (self.node.cluster_pids or {}).values())

    @property
    def uptime(self) -> timedelta | None:
        if self.state != "alive":
            return None
        return timezone.now() - self.node.started_at


def alive_nodes(now: datetime | None = None, limit: int = 50) -> list[NodeView]:
    return [NodeView(node, "alive") for node in live_workers(now)[:limit]]


def recent_nodes(now: datetime | None = None, limit: int = 100) -> list[NodeView]:
    """Recently seen nodes, newest heartbeat first, each with its state."""
    now = now or timezone.now()
    return [NodeView(node, node_state(node, now)) for node in WorkerNode.objects.order_by("-last_seen")[:limit]]


def running_runs(limit: int = 500) -> list[TaskRun]:
    return list(TaskRun.objects.filter(status=Status.RUNNING).order_by("claimed_at")
                .only("id", "task", "queue", "status", "attempts", "max_attempts", "progress",
                      "progress_message", "claimed_at", "worker", "cancel_requested")[:limit])


def worker_nodes(limit: int = 100) -> tuple[list[NodeView], list[TaskRun]]:
    """Every recent node with the runs it executes now, and running runs no node claims."""
    views = recent_nodes(limit=limit)
    owner = {identity: view for view in views for identity in view.identities}
    unattributed = []
    for run in running_runs():
        view = owner.get(run.worker)
        if view is None:
            unattributed.append(run)
        else:
            view.running.append(run)
    return views, unattributed


def worker_rows(now: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Recently seen workers as plain values (API, CLI), each with an ``alive`` flag."""
    return [
        {
            "id": view.node.id,
            "hostname": view.node.hostname,
            "pid": view.node.pid,
            "queues": view.node.queues,
            "started_at": view.node.started_at,
            "last_seen": view.node.last_seen,
            "stopped_at": view.node.stopped_at,
            "alive": view.state == "alive",
        }
        for view in recent_nodes(now, limit)
    ]


def cluster_stats(running: list[TaskRun] | None = None) -> list[dict[str, Any]] | None:
    """django-q2's published cluster status, each with ``running`` (the runs its worker
    processes hold now) and ``state``; None when it cannot be read.

    django-q2 calls a cluster "Idle" whenever its internal queues are empty, which is the case
    while its workers execute taskboard runs (a claimed message has left the queue). So the
    state shown is "working" while any of its worker processes holds a running run, else
    django-q2's own word. ``running`` may pass the running runs already read for the page.
    """
    try:
        stats = transport_cluster.cluster_stats()
    except Exception:  # noqa: BLE001 - an empty or broken cache must not break the page
        logger.warning("cluster stats unavailable", exc_info=True)
        return None
    if stats:
        holders = Counter(run.worker for run in running) if running is not None else running_workers()
        for cluster in stats:
            identities = {process_identity(pid, cluster["host"]) for pid in cluster["workers"]}
            cluster["running"] = sum(holders[identity] for identity in identities)
            cluster["state"] = "working" if cluster["running"] else str(cluster["status"]).lower()
    return stats


def running_workers(limit: int = 500) -> Counter[str]:
    """How many running runs each worker identity (``host:pid``) holds."""
    return Counter(TaskRun.objects.filter(status=Status.RUNNING).order_by()
                   .values_list("worker", flat=True)[:limit])
