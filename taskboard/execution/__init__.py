"""One attempt in a worker process: ``runner`` (claim → call → record), the per-process
``monitor`` thread (lease, cancel, timeout interrupt), the ``outbox`` (group commit of
successes) and the task ``context``.

Imports ``backend``, ``models``, ``exceptions`` and ``transport``; never ``web`` or ``service``.
"""
