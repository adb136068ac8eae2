"""Child commands in process groups of their own: start, signal, stop, reap.

Every long-lived child taskboard starts (a django-q2 cluster, gunicorn, a ``taskboard_worker``
in a test or a benchmark) is started here, for two reasons:

* **Its own process group** (a new session, so pgid == pid). A stop can then reach everything
  the child started, also daemon grandchildren that outlived their parent: django-q2's workers
  run on without a sentinel if only the sentinel dies.
* **A parent-death signal** (Linux ``PR_SET_PDEATHSIG``). When the starter is killed outright
  (kill -9, OOM), the child gets that signal instead of living on as an orphan. The kernel sends
  it when the *thread* that started the child ends, so start children from a long-lived thread.

Stopping is always the same three steps: SIGTERM (to the leader or the whole group), a bounded
wait, then SIGKILL to the whole group and a reap, so nothing started here survives a stop.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO

PR_SET_PDEATHSIG = 1

Output = int | IO[bytes] | None


def _parent_death_signal(sig: int) -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
    except OSError:  # not Linux/glibc: orphans are then the stopper's problem
        pass


class ProcessGroup:
    """One command running as the leader of its own process group."""

    def __init__(self, popen: subprocess.Popen[bytes], name: str) -> None:
        self.popen = popen
        self.name = name

    @property
    def pid(self) -> int:
        """The leader's pid, which is also the group id."""
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def poll(self) -> int | None:
        """The leader's exit status (negative: killed by that signal), or None while it runs."""
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds for the leader; its status, or None if still running."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, sig: int, *, group: bool = True) -> None:
        """Send ``sig`` to the whole group (default) or to the leader only; gone is fine."""
        try:
            if group:
                os.killpg(self.pid, sig)
            elif self.popen.poll() is None:
                self.popen.send_signal(sig)
        except (ProcessLookupError, PermissionError):
            pass

    def group_alive(self) -> bool:
        """Whether any process is left in the group (the leader may be gone already)."""
        return group_alive(self.pid)

    def stop(self, grace: float, *, term_group: bool = True) -> int:
        """SIGTERM, wait up to ``grace`` s for the leader, SIGKILL the group, reap; the status.

        ``term_group=False`` sends the SIGTERM to the leader only, for programs that stop their
        own children and hang when those get the signal as well (django-q2's cluster).
        """
        stop_all([self], grace, term_group=term_group)
        return self.popen.returncode

    def kill(self) -> int:
        """SIGKILL the whole group at once and reap the leader."""
        return self.stop(0.0)


def start(argv: Sequence[str], *, name: str | None = None, cwd: str | Path | None = None,
          env: Mapping[str, str] | None = None, stdin: Output = subprocess.DEVNULL,
          stdout: Output = None, stderr: Output = None,
          parent_death_signal: int | None = signal.SIGTERM) -> ProcessGroup:
    """Start ``argv`` in a new session (its own process group).

    ``parent_death_signal`` is what the child gets if this process dies first (None: nothing).
    ``stdout``/``stderr`` take what ``subprocess.Popen`` takes (a file, ``subprocess.STDOUT``…).
    """
    pdeathsig = parent_death_signal

    def prepare() -> None:
        if pdeathsig is not None:
            _parent_death_signal(pdeathsig)

    popen = subprocess.Popen(
        list(argv), cwd=cwd, env=dict(env) if env is not None else None, stdin=stdin,
        stdout=stdout, stderr=stderr, start_new_session=True, preexec_fn=prepare,
    )
    return ProcessGroup(popen, name or Path(argv[0]).name)


def stop_all(groups: Iterable[ProcessGroup], grace: float, *, term_group: bool = True) -> None:
    """Stop several groups against one shared deadline: SIGTERM them all, wait up to ``grace``
    seconds in total, SIGKILL every group, reap every leader."""
    groups = list(groups)
    for group in groups:
        if group.alive():
            group.signal(signal.SIGTERM, group=term_group)
    deadline = time.monotonic() + grace
    for group in groups:
        group.wait(max(0.0, deadline - time.monotonic()))
    for group in groups:
        # Also when the leader exited: daemon children may be left in its group.
        group.signal(signal.SIGKILL)
        group.popen.wait()


def group_alive(pgid: int) -> bool:
    """Whether process group ``pgid`` still has a member."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _ppid_and_pgid(pid: int) -> tuple[int, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[1]), int(fields[2])


def descendant_groups(root: int) -> set[int]:
    """Process groups of ``root`` and of all its live descendants (Linux ``/proc``).

    Note them before a stop to check afterwards that groups a child started (each cluster of
    a ``taskboard_worker``) went with it.
    """
    children: dict[int, list[int]] = {}
    groups: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _ppid_and_pgid(int(entry.name))) is not None:
            children.setdefault(stat[0], []).append(int(entry.name))
            groups[int(entry.name)] = stat[1]
    found: set[int] = set()
    todo = [root]
    while todo:
        pid = todo.pop()
        if pid in groups:
            found.add(groups[pid])
        todo.extend(children.get(pid, []))
    return found
