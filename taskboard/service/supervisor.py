"""``taskboard_worker``: one django-q2 cluster per queue, the dispatcher, and a watchdog.

Each cluster is ``manage.py qcluster`` in its own process group, so it can be stopped or
killed as a whole: django-q2's sentinel, pusher, monitor and workers all go together (killing
only the sentinel would orphan workers that run on with no supervision). The main process
ticks the dispatcher every second and restarts a cluster that exited or wedged.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from taskboard.conf import conf
from taskboard.models import Status, TaskRun, WorkerNode
from taskboard.models.nodes import process_identity
from taskboard.schedules import settings_sync
from taskboard.service import clock, processes
from taskboard.transport import cluster as transport_cluster

logger = structlog.get_logger("taskboard.service.supervisor")

@dataclass
class ClusterProcess:
    queue: str
    workers: int
    grace: float = 10.0  # how long an orphaned cluster may take to stop (see transport.guard)
    process: processes.ProcessGroup | None = None
    restarts: int = 0
    last_reason: str = ""
    wedged_since: float | None = None
    stat: dict[str, Any] | None = None
    started: float = field(default_factory=time.monotonic)

    def start(self) -> None:
        env = dict(os.environ, Q_CLUSTER_NAME=self.queue, TASKBOARD_WORKERS=str(self.workers),
                   TASKBOARD_PROCESS="worker", TASKBOARD_CLUSTER_GRACE=str(self.grace))
        # Its own process group, so a stop reaches every process django-q2 forks; SIGTERM
        # if this supervisor dies (the cluster's own watchdog then makes sure it all goes).
        self.process = processes.start(
            [sys.executable, "-m", "django", "taskboard_cluster"], name=f"cluster {self.queue}",
            cwd=settings.BASE_DIR, env=env, stdin=None,
        )
        self.started = time.monotonic()
        self.wedged_since = None
        logger.info("cluster started", queue=self.queue, pid=self.process.pid, workers=self.workers)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        return self.process.poll() if self.process else 0

    def worker_pids(self) -> list[int]:
        """django-q2 worker pids, from the cluster's own published status."""
        return sorted(self.stat["workers"]) if self.stat else []

    def stop(self, grace: float) -> None:
        if self.process is None:
            return
        if self.process.alive():
            # SIGTERM to the cluster's main process only: its children inherited django-q2's
            # stop handler, and signalling them all at once makes the stop hang. Then the
            # whole group goes (also orphans of a cluster that exited by itself).
            code = self.process.stop(grace, term_group=False)
            if code == -signal.SIGKILL:
                logger.warning("cluster did not stop in time; killed it", queue=self.queue)
        else:
            self.process.kill()

    def restart(self, reason: str) -> None:
        logger.error("restarting cluster", queue=self.queue, reason=reason)
        self.stop(grace=2.0)
        self.restarts += 1
        self.last_reason = reason
        self.start()


class Supervisor:
    """The ``taskboard_worker`` process: its clusters, the clock, the node heartbeat."""


    def __init__(self, queues: list[str], workers: int, grace: float) -> None:
        self.queues = queues
        self.grace = grace
        self.clusters = {queue: ClusterProcess(queue, workers, grace) for queue in queues}
        self.stopping = threading.Event()
        self.last_watch = 0.0
        self.hostname = socket.gethostname()
        self.node = WorkerNode(id=uuid.uuid4().hex, hostname=self.hostname, pid=os.getpid(),
                               queues=queues)

    def request_stop(self, signum: int, frame: Any) -> None:
        logger.info("stopping", signal=signal.Signals(signum).name)
        self.stopping.set()

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        # Schedules declared in settings (and the retention schedule) become rows before the
        # clock runs; the taskboard.E101 check has validated them already.
        settings_sync.sync()
        self.node.save(force_insert=True)
        for cluster in self.clusters.values():
            cluster.start()
        logger.info("taskboard worker running", node=self.node.id, queues=self.queues)
        try:
            while not self.stopping.is_set():
                began = time.monotonic()
                self.step()
                wait = conf.DISPATCH_INTERVAL - (time.monotonic() - began)
                try:
                    due = clock.seconds_until_next_due(self.queues)
                except Exception:  # the next step logs database trouble
                    due = None
                if due is not None:
                    wait = min(wait, due + 0.01)
                self.stopping.wait(max(0.02, wait))
        finally:
            for cluster in self.clusters.values():
                cluster.stop(self.grace)
            WorkerNode.objects.filter(pk=self.node.pk).update(
                stopped_at=timezone.now(), cluster_pids={})
            clock.release_leases()
            logger.info("taskboard worker stopped", node=self.node.id)

    def step(self) -> None:
        try:
            result = clock.tick(self.queues)
            if result.dispatched or result.lost or result.redispatched:
                logger.info("dispatcher tick", **result.__dict__)
            # The loop may wake early for a due retry; supervision needs only ~1 Hz.
            if time.monotonic() - self.last_watch >= conf.DISPATCH_INTERVAL:
                self.last_watch = time.monotonic()
                self.watch_clusters()
                self.heartbeat()
        except Exception:
            # A database hiccup must not kill the worker: log, reconnect, go on.
            logger.exception("dispatcher tick failed")
            close_old_connections()

    def heartbeat(self) -> None:
        node = self.node
        node.last_seen = timezone.now()
        node.cluster_pids = {queue: cluster.worker_pids() for queue, cluster in self.clusters.items()}
        node.restarts = sum(c.restarts for c in self.clusters.values())
        node.last_restart_reason = next(
            (c.last_reason for c in self.clusters.values() if c.last_reason), "")
        # save() re-creates the row if someone pruned it while we were alive.
        node.save()

    def watch_clusters(self) -> None:
        stats = None
        for cluster in self.clusters.values():
            code = cluster.exited()
            if code is not None:
                cluster.restart(f"cluster process exited with status {code}")
                continue
            if stats is None:
                stats = {s["pid"]: s for s in transport_cluster.cluster_stats()}
            cluster.stat = stat = stats.get(cluster.pid)
            if time.monotonic() - cluster.started < 5:
                continue  # still starting up
            if self.looks_wedged(cluster, stat):
                if cluster.wedged_since is None:
                    cluster.wedged_since = time.monotonic()
                elif time.monotonic() - cluster.wedged_since >= conf.WEDGE_SECONDS:
                    cluster.restart("wedged: work waiting in the cluster, no worker busy")
            else:
                cluster.wedged_since = None

    def looks_wedged(self, cluster: ClusterProcess, stat: dict[str, Any] | None) -> bool:
        """Prefetched messages and yet none of this cluster's workers is running a run.

        django-q2 wedges when a worker dies while waiting on the shared task queue: it takes
        the queue's read lock with it, so the pusher keeps filling the queue that no worker
        can read any more.
        """
        if stat is None or not stat["task_q_size"]:
            return False
        identities = [process_identity(pid, self.hostname) for pid in stat["workers"]]
        busy = TaskRun.objects.filter(status=Status.RUNNING, worker__in=identities).exists()
        return not busy
