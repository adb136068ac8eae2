"""``taskboard_worker``: the ``supervisor`` (one django-q2 cluster per queue in its own
process group, watchdog, node heartbeat), the ``clock`` — the one-second loop that runs every
periodic job (due runs, lease recovery, re-push of lost messages) — and ``processes``
(starting and stopping a child command as a process group; also used by the tests and
``bench/``).

Words, used this way throughout:

* **supervisor** — one ``manage.py taskboard_worker`` process on a host (``Supervisor``;
  stored as a ``WorkerNode`` row, whose table name predates this vocabulary).
* **cluster** — one django-q2 cluster (``taskboard_cluster``: main process, sentinel, pusher,
  monitor, workers) serving one queue, started by a supervisor in its own process group.
* **worker** — one django-q2 worker process of a cluster: what claims and runs an attempt;
  ``TaskRun.worker`` names it as ``host:pid`` (``models.nodes.process_identity``).

Imports ``execution``, ``flow``, ``models``, ``schedules`` (the clock fires them; the
supervisor syncs the settings-declared ones at start), ``notify`` (the clock evaluates the
alert rules) and ``transport``; never ``web``.
"""
