"""``/healthz`` and ``/metrics`` (Prometheus), computed from the database at request time."""
