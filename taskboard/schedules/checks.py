"""The ``taskboard.E101`` system check: ``TASKBOARD_SCHEDULES`` and
``TASKBOARD_RETENTION_DAYS`` must be usable. Run by ``manage.py check``, ``migrate`` and every
``taskboard_worker`` start, so a bad schedule (unknown task, a cron of 6 fields, a time zone
that does not exist…) stops start-up with a message naming it, instead of failing at its first
fire time."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register()
def check_schedules(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from taskboard.schedules.settings_sync import declared

    try:
        declared()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="taskboard.E101")]
    return []
