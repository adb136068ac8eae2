"""django-q2 clusters: running one in this process, and what they publish about themselves."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from django_q.conf import Conf
from django_q.signals import pre_execute
from django_q.status import Stat

from taskboard.transport import guard
from taskboard.transport.push import EXECUTE, broker_for, settle_pushes

_in_cluster_run: str | None = None


def _on_pre_execute(sender: Any, func: Any, task: dict[str, Any], **kwargs: Any) -> None:
    global _in_cluster_run
    args: Sequence[Any] = task.get("args") or ()
    _in_cluster_run = str(args[0]) if task.get("func") == EXECUTE and len(args) == 1 else None


def connect_signals() -> None:
    pre_execute.connect(_on_pre_execute, dispatch_uid="taskboard-delivery")


def delivered_by_cluster(run_id: Any) -> bool:
    """True (once) when a django-q2 worker is executing the message for ``run_id``; False
    when ``execute`` was called directly (tests, sync mode)."""
    global _in_cluster_run
    current, _in_cluster_run = _in_cluster_run, None
    return current is not None and current == str(run_id)


def queue_depth(queue: str) -> int:
    """Messages visible in the broker for ``queue`` (not yet taken by a cluster), this
    thread's own pushes included (their replies are read lazily: ``push._rpush``)."""
    settle_pushes()
    return int(broker_for(queue).queue_size() or 0)


def broker_info() -> str:
    return "redis" if Conf.REDIS else "orm"


def cluster_stats() -> list[dict[str, Any]]:
    """django-q2's own view of its clusters (published through the shared cache, 3 s TTL)."""
    stats = []
    for stat in Stat.get_all(broker=broker_for(Conf.CLUSTER_NAME)) or []:
        stats.append({
            "cluster_id": str(stat.cluster_id),
            "host": stat.host,
            "pid": stat.pid,
            "sentinel": stat.sentinel,
            "workers": list(stat.workers),
            "status": str(stat.status),
            "reincarnations": stat.reincarnations,
            "uptime": stat.uptime() if stat.tob else 0.0,
            "task_q_size": stat.task_q_size,
            "queue": getattr(stat, "cluster_name", None),
        })
    return stats



def run_cluster(on_settled: guard.Settled | None = None) -> None:
    """Run one django-q2 cluster in this process until SIGTERM/SIGINT (``taskboard_cluster``).

    Used instead of ``qcluster``, whose main process returns right after starting the
    sentinel and then hangs in multiprocessing's exit handler when SIGTERM arrives during
    that join: waiting here explicitly makes a stop take as long as the running tasks. The
    cluster dies with its supervisor and settles dead workers' runs at once (see ``guard``);
    ``TASKBOARD_CLUSTER_GRACE`` (set by the supervisor) bounds the stop after the
    supervisor is gone. ``on_settled`` is called with each run a dead worker's settlement
    changed (the caller sends ``task_finished``).
    """
    from django_q.cluster import Cluster

    guard.install_death_hook(on_settled)
    cluster = Cluster()  # installs SIGTERM/SIGINT handlers that stop the sentinel
    grace = float(os.environ.get("TASKBOARD_CLUSTER_GRACE") or 10.0)
    guard.watch_parent(lambda: cluster.stop_event,
                       lambda: cluster.sentinel is not None and cluster.sentinel.is_alive(), grace)
    cluster.start()
    while cluster.sentinel is not None and cluster.sentinel.is_alive():
        time.sleep(0.25)
