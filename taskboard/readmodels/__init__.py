"""What people look at, computed once for every screen: paging (one keyset implementation),
overview, failures, runs, workers, queues and totals. Each figure (oldest wait, queue depth,
worker liveness, the configured queues) has one definition here that the dashboard, the API,
``/metrics`` and the CLI all call.

Imports ``models``, ``conf`` and ``transport`` (broker depth, cluster stats); never ``web``.
"""
