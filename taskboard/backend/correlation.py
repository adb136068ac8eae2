"""Correlation ids: one id shared by the runs that one request, script or run set off.

A run's ``correlation_id`` is, in order of precedence:

1. the one given at enqueue (``POST /api/runs/`` ``"correlation_id"``, ``taskboard_enqueue
   --correlation-id``, ``enqueue_many(..., correlation_id=…)``);
2. the one of the batch it joins;
3. the ambient one: inside ``with taskboard.correlation("order-1042"):`` that id; inside a
   running task, the running run's correlation id — or, when it has none, the running run's
   own id, so a run that fans out is found together with everything it enqueued;
4. none (``""``; ``null`` in the API). A run is not given its own id as correlation id: an
   index entry per run would tax every enqueue for no use until it has children.

Batch callbacks carry their batch's id, hooks the id of the run that set them off (rule 3's
fallback applies). The worker binds the id to every log line of the attempt.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from taskboard.exceptions import InvalidTaskArguments

MAX_LENGTH = 100

_ambient: ContextVar[str] = ContextVar("taskboard_correlation", default="")


def check(correlation_id: str) -> str:
    """A correlation id from outside: 1 to 100 printable characters."""
    if not isinstance(correlation_id, str) or not 0 < len(correlation_id) <= MAX_LENGTH:
        raise InvalidTaskArguments(f"correlation_id must be 1 to {MAX_LENGTH} characters")
    if not correlation_id.isprintable():
        raise InvalidTaskArguments("correlation_id must be printable text (no control characters)")
    return correlation_id


@contextmanager
def correlation(correlation_id: str) -> Iterator[str]:
    """Runs enqueued inside this block (in this thread or task) get ``correlation_id``."""
    token = _ambient.set(check(correlation_id))
    try:
        yield correlation_id
    finally:
        _ambient.reset(token)


@contextmanager
def running(correlation_id: str, run_id: str) -> Iterator[None]:
    """The worker's: what a running task enqueues inherits its run's correlation (or id)."""
    token = _ambient.set(correlation_id or run_id)
    try:
        yield
    finally:
        _ambient.reset(token)


def current() -> str:
    """The ambient correlation id ("" outside any)."""
    return _ambient.get()


def resolve(given: str | None, batch_correlation: str = "") -> str:
    """The correlation id of a new run: given, else its batch's, else the ambient one."""
    if given is not None:
        return check(given)
    return batch_correlation or _ambient.get()
