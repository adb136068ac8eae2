"""The bare Django contender of ``bench.api_http``: the practical ceiling of Django here.

A plain Django view (no django-ninja, no authentication) that validates a small JSON body and
inserts one row into a small table, served by the same gunicorn configuration, database and
settings as taskboard (``bench.bare.settings`` extends ``taskboard.settings``). Bench-only:
nothing in the ``taskboard`` package imports it.
"""
