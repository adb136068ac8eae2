"""CPU seconds (user + system) of a benchmark's parts, sampled with ``psutil`` while it runs.

Wall-clock rates on 2 shared cores swing with whatever else runs; CPU seconds per part say
where the work went: the worker's process group (every process the worker started, also
those that exit and are replaced during the run: the last sample of each is kept), this
database's PostgreSQL backends (``pg_stat_activity``; a connection that lives less than one
sampling interval is missed, ``pg_stat_database.sessions`` counts them all), and this process.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psutil


def cpu_seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


@dataclass
class Meter:
    leader: int  # the worker's pid (its process group's leader)
    postgres: bool
    seen: dict[tuple[int, float], float] = field(default_factory=dict)  # (pid, created) → CPU s
    names: dict[tuple[int, float], str] = field(default_factory=dict)
    backends: dict[tuple[int, float], float] = field(default_factory=dict)
    backends_before: dict[int, float] = field(default_factory=dict)  # CPU already used at start
    own_start: float = 0.0
    sessions_start: int = 0

    def start(self) -> Meter:
        self.own_start = cpu_seconds(psutil.Process())
        if self.postgres:
            # Long-lived backends (this process's own) count from now, not from their start.
            for pid in self._backend_pids():
                try:
                    self.backends_before[pid] = cpu_seconds(psutil.Process(pid))
                except psutil.Error:
                    pass
            self.sessions_start = self._sessions()
        return self

    def sample(self) -> None:
        try:
            leader = psutil.Process(self.leader)
            procs = [leader, *leader.children(recursive=True)]
        except psutil.Error:
            procs = []
        for proc in procs:
            try:
                key = (proc.pid, proc.create_time())
                self.seen[key] = cpu_seconds(proc)
                if key not in self.names:
                    self.names[key] = proc.name()
            except psutil.Error:
                pass
        if self.postgres:
            for pid in self._backend_pids():
                try:
                    proc = psutil.Process(pid)
                    self.backends[(pid, proc.create_time())] = cpu_seconds(proc) - self.backends_before.get(pid, 0.0)
                except psutil.Error:
                    pass

    def totals(self) -> dict[str, float]:
        """CPU seconds so far: ``worker`` (its group), ``postgres`` (backends), ``bench`` (this
        process: the receiver and the polling), ``sessions`` (connections opened)."""
        figures = {"worker": sum(self.seen.values()), "bench": cpu_seconds(psutil.Process()) - self.own_start}
        if self.postgres:
            figures["postgres"] = sum(self.backends.values())
            figures["sessions"] = float(self._sessions() - self.sessions_start)
        return figures

    def by_process(self) -> str:
        """The worker group's CPU seconds per process name (django-q2 names its processes)."""
        parts: dict[str, float] = {}
        for key, seconds in self.seen.items():
            parts[self.names.get(key, "?")] = parts.get(self.names.get(key, "?"), 0.0) + seconds
        return ", ".join(f"{name} {seconds:.2f}" for name, seconds in sorted(parts.items(), key=lambda p: -p[1]))

    @staticmethod
    def _backend_pids() -> list[int]:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            return [row[0] for row in cursor.fetchall()]

    @staticmethod
    def _sessions() -> int:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
            cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
            return int(cursor.fetchone()[0])
