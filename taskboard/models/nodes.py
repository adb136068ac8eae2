"""``WorkerNode``: one ``taskboard_worker`` supervisor, its heartbeat and its clusters."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from taskboard.conf import conf


def process_identity(pid: int | None = None, hostname: str | None = None) -> str:
    """``host:pid``: how a run names the worker process that claimed it (``TaskRun.worker``).

    The one definition: the runner stamps it on a claim, the supervisor and the read models
    compare against it, so they must build it the same way. Defaults to this process.
    """
    if pid is None and hostname is None:
        return _own_identity()
    return f"{socket.gethostname() if hostname is None else hostname}:{os.getpid() if pid is None else pid}"


_own: tuple[int, str] | None = None


def _own_identity() -> str:
    # A worker stamps every claim with it: asked of the kernel once per process (a forked
    # child has another pid and asks again), not on every run.
    global _own
    pid = os.getpid()
    if _own is None or _own[0] != pid:
        _own = (pid, f"{socket.gethostname()}:{pid}")
    return _own[1]


def fresh_since(now: datetime | None = None) -> datetime:
    """The oldest supervisor heartbeat that still counts as alive."""
    return (now or timezone.now()) - timedelta(seconds=conf.WORKER_STALE_SECONDS)


class WorkerNodeQuerySet(models.QuerySet["WorkerNode"]):
    def alive(self, now: datetime | None = None) -> WorkerNodeQuerySet:
        """Supervisors that have not stopped and whose heartbeat is younger than
        ``WORKER_STALE_SECONDS``: the one definition of liveness (health check, metrics,
        dashboard, CLI, and the clock's view of each queue's capacity)."""
        return self.filter(last_seen__gte=fresh_since(now), stopped_at__isnull=True)


class WorkerNode(models.Model):
    """One ``taskboard_worker`` process (cluster + dispatcher) on some host."""

    id = models.CharField(max_length=32, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    cluster_pids = models.JSONField(default=dict, help_text="Worker pids per queue.")
    restarts = models.PositiveIntegerField(default=0)
    last_restart_reason = models.CharField(max_length=255, blank=True, default="")

    objects = WorkerNodeQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen"]
        indexes = [models.Index(fields=["last_seen"], name="workernode_seen")]

    def __str__(self) -> str:
        return process_identity(self.pid, self.hostname)

    def is_alive(self, now: datetime | None = None) -> bool:
        return self.stopped_at is None and self.last_seen >= fresh_since(now)

    def worker_identities(self) -> set[str]:
        """``process_identity`` of every django-q2 worker process of this node's clusters."""
        return {process_identity(pid, self.hostname)
                for pids in (self.cluster_pids or {}).values() for pid in pids}

