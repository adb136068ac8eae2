"""What people look at, computed once for every screen. One module per subject:

- ``paging``: the one keyset pagination (``Cursor``, ``Page``, ``keyset_page``), cursor tokens;
- ``counts``: bounded counts (``BoundedCount``) for pages that must stay cheap;
- ``cache``: a few seconds of shared cache for aggregates;
- ``queues``: the configured queues, queue depth, the oldest ready run's wait;
- ``workers``: worker liveness, nodes and what they run;
- ``totals``: runs by status and task, open dead letters, recent windows (API, metrics, CLI);
- ``overview``: the overview page's charts and latest failures;
- ``failures``: failure groups rolled up by fingerprint;
- ``runs``: the list querysets;
- ``representations``: JSON in and out for the API and the commands.

Each figure (oldest wait, queue depth, worker liveness, the configured queues) has one
definition here that the dashboard, the API, ``/metrics`` and the CLI all call.

Imports ``models``, ``conf`` and ``transport`` (broker depth, cluster stats); never ``web``
or ``operations``.
"""
