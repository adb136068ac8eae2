"""The django-q2 boundary: the ONLY package that imports ``django_q``.

``push`` sends run ids to a queue's broker, ``broker`` is taskboard's ORM broker (messages
taken at dequeue), ``cluster`` runs and observes django-q2 clusters. What crosses the broker
is a run id addressed to ``taskboard.execution.runner.execute``; pushing is at-least-once and
duplicates are harmless (the claim drops them), so every function here prefers pushing again
over losing a run. Imports ``models`` and ``conf`` only.
"""
