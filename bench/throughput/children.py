"""The contenders' processes: each started in a process group of its own
(``taskboard.service.processes``) with its log, and stopped so that nothing outlives a round."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from bench.throughput.common import BASE_DIR, log
from taskboard.service import processes


class Child:
    """A contender (``taskboard_worker`` or ``qcluster``) with its log file and start time."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, *,
                 term_group: bool = True) -> None:
        self.name = name
        # False: SIGTERM to the leader only, which stops its own children (django-q2's
        # qcluster hangs when its workers get the signal too).
        self.term_group = term_group
        self.log_path = log_path
        self.started = time.time()
        with open(log_path, "xb") as out:  # the child keeps its own copy of the descriptor
            self.group = processes.start(argv, name=name, cwd=BASE_DIR, env=env, stdout=out,
                                         stderr=subprocess.STDOUT)
        log(f"started {name} (pid/pgid {self.group.pid}, log {log_path})")

    @property
    def returncode(self) -> int | None:
        return self.group.returncode

    def alive(self) -> bool:
        return self.group.alive()

    def stop(self, grace: float = 15.0) -> None:
        # taskboard_worker starts each cluster in a process group of its own: note those
        # groups now, to make sure they are gone after the stop.
        child_groups = processes.descendant_groups(self.group.pid) - {self.group.pid}
        status = self.group.stop(grace, term_group=self.term_group)
        if status == -signal.SIGKILL:
            log(f"{self.name} did not stop within {grace:g}s; it was killed with its group")
        deadline = time.monotonic() + 5.0
        while child_groups and time.monotonic() < deadline:
            child_groups = {g for g in child_groups if processes.group_alive(g)}
            time.sleep(0.1)
        for pgid in child_groups:
            log(f"{self.name}: process group {pgid} it started outlived it; SIGKILL to it")
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def token_processes(token: str) -> list[int]:
    """Pids of live processes carrying this run's BENCH_RUN_TOKEN (i.e. started by this run)."""
    found = []
    needle = f"BENCH_RUN_TOKEN={token}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def reap_token_processes(token: str, exclude: set[int]) -> list[int]:
    """Last resort: SIGKILL processes of this run that outlived their group's stop.

    (taskboard_worker puts each cluster in a process group of its own; it stops them itself
    on SIGTERM, so normally nothing is found here.)
    """
    leftover = [pid for pid in token_processes(token) if pid not in exclude]
    for pid in leftover:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return leftover
