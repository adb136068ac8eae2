"""The ``django.tasks`` face: ``TaskboardTask`` (task options), ``TaskboardBackend``
(enqueue → a validated ``TaskRun`` row pushed on commit, results), argument validation, the
registry of tasks that may be enqueued by name, and the retry policy (pure).
``backend.import_task`` is how a worker loads a stored run's task (raising whatever the
import raises); ``resolve_task`` is its forgiving form for read paths.

Imports ``models``, ``exceptions`` and ``transport`` (the push after commit). The public
path users configure stays ``taskboard.backends.TaskboardBackend``.
"""
