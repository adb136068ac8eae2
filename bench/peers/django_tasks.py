"""The no-op of the two ``django.tasks`` contenders (taskboard, django-tasks-db).

One plain ``@task``, validated against whichever backend the process's settings make the
default: taskboard's with ``bench.settings``, ``django_tasks_db.DatabaseBackend`` with
``bench.peers.settings_dtdb``. Its body is the shared start mark.
"""

from __future__ import annotations

from django.tasks import task

from bench.peers.marks import mark


@task
def noop(key: str) -> None:
    mark(key)
