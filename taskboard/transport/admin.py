"""django-q2's admin pages, taken off the admin site.

taskboard runs django-q2 with its scheduler off and keeps no result rows, so django-q2's own
"Scheduled tasks" (whose "Add" creates a schedule that never fires), "Successful tasks",
"Failed tasks" and "Queued tasks" pages would only mislead: schedules are taskboard's
``Schedule`` (cron or interval, exactly once per fire time), runs are ``TaskRun``.
"""

from __future__ import annotations

from django.contrib import admin


def hide_django_q_admin(site: admin.AdminSite | None = None) -> list[str]:
    """Unregister django-q2's models from ``site`` (the default admin site); returns what went."""
    import django_q.admin  # noqa: F401 - registers them first, whatever the order of INSTALLED_APPS
    from django_q.models import Failure, OrmQ, Schedule, Success

    site = site or admin.site
    hidden = []
    for model in (Schedule, Success, Failure, OrmQ):
        if site.is_registered(model):
            site.unregister(model)
            hidden.append(model.__name__)
    return hidden
