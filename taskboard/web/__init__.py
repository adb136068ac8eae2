"""Everything served over HTTP: ``dashboard`` (pages, HTMX fragments, actions), ``api``
(django-ninja schemas, endpoints, auth, errors, docs) and ``monitoring`` (healthz, metrics).

Imports ``operations``, ``readmodels``, ``models`` and ``backend``; nothing imports ``web``.
"""
