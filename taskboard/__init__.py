"""taskboard: an operator dashboard and reliability layer for Django's ``django.tasks``.

``taskboard.correlation("order-1042")`` is a context manager: the runs enqueued inside it
(and, transitively, what those runs enqueue) share that correlation id. It imports nothing
until called, so ``import taskboard`` stays free of Django set-up.
"""

from __future__ import annotations

from contextlib import AbstractContextManager


def correlation(correlation_id: str) -> AbstractContextManager[str]:
    """Give ``correlation_id`` to every run enqueued inside the ``with`` block."""
    from taskboard.backend.correlation import correlation as correlated

    return correlated(correlation_id)
