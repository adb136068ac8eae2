"""The ``django.tasks`` face: ``TaskboardTask`` (task options), ``TaskboardBackend``
(enqueue → a validated ``TaskRun`` row pushed on commit, results), argument validation, the
registry of tasks that may be enqueued by name, and the retry policy (pure).
``loading`` goes back from a stored run to its task as enqueued (priority, queue, backend
alias; also a plain ``django.tasks`` Task routed here): ``import_task`` is how a worker
loads it (raising whatever the import raises), ``resolve_task`` the forgiving form for read
paths. ``plans`` holds what enqueueing a task needs, worked out once per task, and ``rows`` a
single run's INSERT; ``pending`` a run validated (``prepare_run``) before it is written, and
``together`` writes several statements as one transaction (``operations.enqueue``: the run and
its audit event; one statement on PostgreSQL, group commit on SQLite); ``bulk`` is
``enqueue_many`` (public path ``taskboard.bulk``; ``bulk_rows`` writes its rows),
``correlation`` the correlation id a new run gets, ``hooks`` checks callback task names and
``callbacks`` enqueues them for ``models.outcomes`` (installed at app ready).

Imports ``models``, ``exceptions``, ``flow`` (key locks) and ``transport`` (the push after
commit). The public path users configure stays ``taskboard.backends.TaskboardBackend``.
"""
