"""The django-q2 boundary: the ONLY package that imports ``django_q``.

``push`` sends run ids to a queue's broker, ``broker`` is taskboard's ORM broker (messages
taken at dequeue), ``cluster`` runs and observes django-q2 clusters, and ``guard`` closes
django-q2's gaps inside a cluster: it dies with its supervisor, and a worker process that
dies hard has its run settled at once as a ``lost`` attempt. What crosses the broker is a
run id addressed to ``taskboard.execution.runner.execute``; pushing is at-least-once and
duplicates are harmless (the claim drops them), so every function here prefers pushing again
over losing a run. Imports ``models`` and ``conf`` only.
"""
