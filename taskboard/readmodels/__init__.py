"""What people look at, computed once for every screen. One module per subject:

- ``paging``: the one keyset pagination (``Cursor``, ``Page``, ``keyset_page``), cursor tokens;
- ``counts``: bounded counts (``BoundedCount``) for pages that must stay cheap;
- ``cache``: a few seconds of shared cache for aggregates;
- ``queues``: queue depth and the oldest ready run's wait (the configured queues come from
  ``conf.configured_queues``);
- ``workers``: nodes (liveness is ``WorkerNode.objects.alive``) and what they run;
- ``totals``: runs by status and task, open dead letters, recent windows (API, metrics, CLI);
- ``overview``: the overview page's charts and latest failures;
- ``failures``: failure groups rolled up by fingerprint;
- ``runs``: the list querysets (and ``correlated``: the runs of a correlation id);
- ``schedules``: schedules as the API, the CLI and the Schedules page show them (description,
  next fire times, latest runs);
- ``batches``: a batch's counts, progress and JSON, its children (filterable by status);
- ``representations``: the run and dead-letter JSON of the API and the commands (input
  parsing lives in ``operations.inputs``).

Each figure (oldest wait, queue depth, worker liveness, the configured queues) has one
definition that the dashboard, the API, ``/metrics`` and the CLI all call.

Imports ``models``, ``conf``, ``transport`` (broker depth, cluster stats) and ``schedules``
(fire times and descriptions); never ``web`` or ``operations``.
"""
