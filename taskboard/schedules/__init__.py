"""Recurring work: cron and interval schedules, and the built-in retention schedule.

Schedules: ``timing`` (cron via ``cronsim`` and ``every`` intervals: next fire times computed in
the schedule's time zone, stored in UTC; plain-words descriptions via ``cron-descriptor``),
``definition`` (validating a schedule from any source: settings, API, CLI, dashboard),
``firing`` (the tick the clock calls on every host: due schedules fire exactly once per fire
time, misfire and overlap policies), ``settings_sync`` (``TASKBOARD_SCHEDULES`` → rows, on
worker start) and ``retention`` (``TASKBOARD_RETENTION_DAYS``: the built-in pruning schedule).

May import: models, backend (the registry, argument validation, ``create_run``), flow,
transport, exceptions, conf. Never ``operations`` (operations build on this package) nor
``web``.
"""
