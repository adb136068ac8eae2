"""One attempt in a worker process.

``runner`` (``execute``: claim → call → record; the path django-q2 messages name),
``monitor`` (the per-process thread: lease, cancel poll, timeout, give-up), ``interrupt``
(``AttemptControl``: how a running handler is stopped, and what outcome each interrupt is),
``outbox`` (group commit of successes), ``recording`` (attempt rows, ``Failure``,
``task_finished`` — also for runs that end outside the worker's call: lease recovery, a dead
worker process) and ``context`` (``TaskboardContext``, what a task sees).

Imports ``backend``, ``models``, ``exceptions``, ``conf`` and ``transport``; never ``web`` or
``service``.
"""
