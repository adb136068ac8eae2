"""Start and stop real ``taskboard_worker`` processes against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from django.conf import settings
from django.db import connection

from taskboard.models import Status, TaskRun, WorkerNode
from taskboard.service import processes

ROOT = Path(__file__).resolve().parents[2]

FAST_SETTINGS = {
    "TASKBOARD_LEASE_SECONDS": "2",
    "TASKBOARD_HEARTBEAT_SECONDS": "0.5",
    "TASKBOARD_REDISPATCH_AFTER": "3",
    "TASKBOARD_WEDGE_SECONDS": "3",
    "TASKBOARD_WORKER_STALE_SECONDS": "5",
    "TASKBOARD_INTERRUPT_GRACE_SECONDS": "3",
}


def database_env() -> dict[str, str]:
    """Point a subprocess at the database this test process uses."""
    db = connection.settings_dict
    # No housekeeping schedule (retention) firing in the middle of a test unless it asks.
    env = {"SECRET_KEY": settings.SECRET_KEY, "TASKBOARD_DEMO": "0", "TASKBOARD_RETENTION_DAYS": "0",
           "DJANGO_SETTINGS_MODULE": "taskboard.settings"}
    if db["ENGINE"] == "django.db.backends.sqlite3":
        env["TASKBOARD_SQLITE_PATH"] = str(db["NAME"])
        env["DATABASE_URL"] = ""
    else:
        env["DATABASE_URL"] = (f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
                               f"{db['PORT'] or 5432}/{db['NAME']}")
    env["TASKBOARD_BROKER_URL"] = os.environ.get("TASKBOARD_BROKER_URL", "")
    return env


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.05,
             message: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def finished(run_id: str, timeout: float) -> TaskRun:
    """Wait (up to a generous ``timeout``) for the run to reach a final status."""
    return wait_for(
        lambda: TaskRun.objects.filter(pk=run_id, status__in=[Status.SUCCEEDED, Status.FAILED,
                                                               Status.CANCELLED]).first(),
        timeout, message=f"run {run_id} to finish",
    )


class WorkerProcess:
    """One ``manage.py taskboard_worker`` and every process it starts."""

    def __init__(self, workers: int = 2, extra_env: dict[str, str] | None = None) -> None:
        env = {**os.environ, **FAST_SETTINGS, **database_env(), "TASKBOARD_WORKERS": str(workers),
               **(extra_env or {})}
        self.log_path = Path(f"/tmp/taskboard-worker-{os.getpid()}-{time.monotonic_ns()}.log")
        self.log = self.log_path.open("wb")
        self.group = processes.start(
            [sys.executable, "manage.py", "taskboard_worker", "--grace", "3"],
            name="taskboard_worker", cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        self.process = self.group.popen
        self.known: set[int] = {self.process.pid}

    def node(self) -> WorkerNode | None:
        return WorkerNode.objects.filter(pid=self.process.pid, stopped_at__isnull=True).first()

    def wait_ready(self, timeout: float = 30) -> list[int]:
        """Block until the cluster published its worker pids; return them."""
        def ready() -> list[int] | None:
            assert self.process.poll() is None, f"worker exited early:\n{self.output()}"
            node = self.node()
            pids = (node.cluster_pids or {}).get("default", []) if node else []
            return pids or None

        pids = wait_for(ready, timeout, interval=0.2, message="worker cluster to start")
        self.remember_tree()
        return pids

    def remember_tree(self) -> None:
        try:
            self.known |= {p.pid for p in psutil.Process(self.process.pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            pass

    def tree(self) -> list[psutil.Process]:
        procs = []
        for pid in sorted(self.known):
            try:
                procs.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                pass
        return procs

    def kill_everything(self) -> None:
        """kill -9 the worker, its clusters and their workers (a machine crash)."""
        self.remember_tree()
        for proc in self.tree():
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        self.process.wait(timeout=10)
        psutil.wait_procs(self.tree(), timeout=5)

    def stop(self) -> None:
        self.remember_tree()
        # SIGTERM to taskboard_worker alone (it stops its clusters), then its whole group.
        self.group.stop(15, term_group=False)
        # Whatever is left of what we started (and only that) goes: each cluster has a
        # process group of its own.
        for proc in self.tree():
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        if self.process.poll() is None:
            self.process.wait(timeout=10)
        psutil.wait_procs(self.tree(), timeout=5)
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-6000:]
