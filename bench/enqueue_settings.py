"""Settings of ``bench.enqueue``: taskboard's (with the bench app), plus django-tasks-db as a
second ``TASKS`` backend (alias ``dtdb``) when the benchmark peers are installed
(``make bench-peers``), so both write to the same database in the same process."""

from importlib.util import find_spec

from bench.settings import *  # noqa: F403
from bench.settings import INSTALLED_APPS, TASKS

HAS_DTDB = find_spec("django_tasks_db") is not None

if HAS_DTDB:
    INSTALLED_APPS = [*INSTALLED_APPS, "django_tasks_db"]
    TASKS = {**TASKS, "dtdb": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
