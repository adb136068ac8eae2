"""A cross-process queue in front of SQLite's write lock, for taskboard's hot-path writers.

SQLite lets one writer in at a time, and a writer that finds the database locked sleeps
and retries (1, 2, 5, 10 … ms, SQLite's busy handler). With the broker's pusher and every
worker committing every few hundred microseconds, those sleeps, not the writes, bounded the
drain rate. Writers that first take this ``flock`` wait in the kernel instead and are woken
the moment the previous one is done (an API enqueue queues here too, so concurrent requests
do not sleep in the busy handler). Other writers (the dashboard, the dispatcher) still
meet plain SQLite locking, and stay correct: this only orders those that use it.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper

_fds: dict[tuple[int, str], int] = {}
_threads: dict[tuple[int, str], threading.Lock] = {}
_setup = threading.Lock()


def lock_file(database: str) -> str:
    """The writers' lock file beside the SQLite database file ``database``."""
    return f"{database}-writers.lock"


def _lock_path(connection: BaseDatabaseWrapper) -> str | None:
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return None
    return lock_file(name)


@contextmanager
def write_turn(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Hold the writers' lock of ``connection``'s database (SQLite files, outside a
    transaction); else a no-op."""
    path = _lock_path(connection)
    # Inside a transaction this connection may already hold SQLite's lock: waiting here for
    # a process that waits for that lock would deadlock until the busy timeout.
    if path is None or connection.in_atomic_block:
        yield
        return
    key = (os.getpid(), path)
    with _setup:
        fd = _fds.get(key)
        if fd is None:
            fd = _fds[key] = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            _threads[key] = threading.Lock()
        in_process = _threads[key]
    # A flock belongs to the open file, which this process's threads share: it orders
    # processes only. Threads (a threaded web server's requests) queue on a lock first.
    with in_process:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
