"""Public path of bulk enqueue: ``from taskboard.bulk import enqueue_many, call``.

``enqueue_many(task, items, *, queue=None, priority=None, batch=None, correlation_id=None)``
writes one run per item in one transaction (all or nothing) and pushes them after the commit
with one broker round trip per chunk; ``batch`` creates a batch (``BatchSpec(name=…,
on_complete=…, on_success=…)`` or the same keys as a dict) or adds to an open one (a ``Batch``
or its id; from a running task of that batch, ``context.batch``). The code lives in
``taskboard.backend.bulk``.
"""

from taskboard.backend.bulk import BatchSpec, Call, Enqueued, InvalidItem, call, enqueue_many

__all__ = ["BatchSpec", "Call", "Enqueued", "InvalidItem", "call", "enqueue_many"]
