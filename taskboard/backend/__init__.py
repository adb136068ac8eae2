"""The ``django.tasks`` face: ``TaskboardTask`` (task options), ``TaskboardBackend``
(enqueue → a validated ``TaskRun`` row pushed on commit, results), argument validation, the
registry of tasks that may be enqueued by name, and the retry policy (pure).

Imports ``models``, ``exceptions`` and ``transport`` (the push after commit). The public
path users configure stays ``taskboard.backends.TaskboardBackend``.
"""
