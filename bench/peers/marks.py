"""Start marks: the one thing every contender's no-op task does, and how they are read back.

Every contender runs the same body, ``mark(key)``: it appends ``<unix time> <pid> <key> 1``
to the file named by ``BENCH_PEERS_MARKS``. The line format is the one
``bench.throughput.marks.read_marks`` parses (``<time> <id> <name> <ok>``, here the name is the
key the driver gave the task), so its drain figures are reused unchanged.

One ``os.write`` of ~40 bytes on an ``O_APPEND`` descriptor (atomic for lines this short, so
lines of concurrent executors never interleave); the descriptor is reopened after a fork
(Celery's prefork children inherit the parent's module state).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV = "BENCH_PEERS_MARKS"

_fd: int | None = None
_fd_pid: int | None = None


def mark(key: str) -> None:
    global _fd, _fd_pid
    if _fd is None or _fd_pid != os.getpid():
        _fd = os.open(os.environ[ENV], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        _fd_pid = os.getpid()
    os.write(_fd, f"{time.time():.6f} {os.getpid()} {key} 1\n".encode())


class MarkTail:
    """The marks file read incrementally: ``seen(key)`` for the one-at-a-time latency probe,
    which would otherwise re-read the whole (growing) file every few milliseconds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""
        self.times: dict[str, float] = {}

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()  # an unfinished last line waits for its newline
        for line in lines:
            parts = line.decode().split(" ")
            if len(parts) == 4:
                self.times.setdefault(parts[2], float(parts[0]))

    def seen(self, key: str) -> float | None:
        self.poll()
        return self.times.get(key)
