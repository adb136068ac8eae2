"""Test settings: the project's settings with a test database that subprocesses can open.

Worker and server processes started by tests connect to the same test database (a file for
SQLite, ``test_<name>`` on PostgreSQL), never to a development database.
"""

import os
import tempfile

from taskboard.settings import *  # noqa: F403
from taskboard.settings import DATABASES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"taskboard-test-{os.getpid()}.sqlite3"),
    }

TASKBOARD = {
    "DEMO": False,
    # No run-event publishing in the test process (its thread would outlive the test database);
    # tests/notify/test_lifecycle.py connects it where it is tested.
    "WEBHOOKS": False,
    "LEASE_SECONDS": 3.0,
    "HEARTBEAT_SECONDS": 0.5,
    "PROGRESS_MIN_INTERVAL": 0.2,
}
