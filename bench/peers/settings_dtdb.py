"""Settings of the django-tasks-db contender: Django with only the database task backend.

Not taskboard's settings: nothing of taskboard is installed, so the peer runs as a plain
Django project would use it. ``DATABASE_URL``: the orchestrator's fresh PostgreSQL database
(the default is the name it uses); connections are persistent like taskboard's workers'.
"""

import os

import dj_database_url

SECRET_KEY = "bench-peers-django-tasks-db"  # noqa: S105 - a throwaway benchmark project
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["django_tasks_db"]
DATABASES = {"default": dj_database_url.parse(
    os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tb_peers_dtdb"), conn_max_age=600)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "root": {"handlers": [], "level": "WARNING"}}
