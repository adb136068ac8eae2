"""``taskboard_worker``: the ``supervisor`` (one django-q2 cluster per queue in its own
process group, watchdog, node heartbeat) and the ``clock`` — the one-second loop that runs
every periodic job (due runs, lease recovery, re-push of lost messages).

Imports ``execution``, ``models`` and ``transport``; never ``web``.
"""
