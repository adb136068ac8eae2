"""Plain django-q2 contenders: taskboard's settings (same database, broker, cache, logging,
secret) with taskboard's Q_CLUSTER replaced, since django-q2 reads Q_CLUSTER at import.

``BENCH_Q2_PROFILE``:
- ``defaults``: only what must be set: name, the broker (ORM on ``default`` or the same Redis
  URL) and ``workers``. Everything else is django-q2's default (save_limit=250, bulk=1,
  queue_limit=workers², poll=0.2, recycle=500, retry=60, timeout=None).
- ``tuned``: django-q2 at its own ceiling for no-op tasks: no result rows (save_limit=-1),
  bulk dequeue on the ORM broker (one SELECT per 10 messages), a deeper prefetch queue, no
  worker recycling during the run, and the same short poll as taskboard.
  Persistent database connections on SQLite too (django-q2 closes and reopens a connection
  per task and per dequeue otherwise; taskboard's PostgreSQL settings already persist them).
  WAL and IMMEDIATE transactions are already in taskboard's DATABASES.
- ``saveall``: ``tuned`` but keeping a result row for every task (save_limit=0, no pruning):
  plain django-q2 recording each execution, the closest like-for-like with taskboard.
"""

import os
from typing import Any

from bench.settings import *  # noqa: F403
from bench.settings import DATABASES
from taskboard.settings import BROKER_URL

PROFILE = os.environ.get("BENCH_Q2_PROFILE", "defaults")
if PROFILE not in {"defaults", "tuned", "saveall"}:
    raise ValueError(f"BENCH_Q2_PROFILE={PROFILE!r}: use defaults, tuned or saveall")

WORKERS = int(os.environ.get("BENCH_Q2_WORKERS", "2"))
cluster: dict[str, Any] = {"name": "benchq2", "workers": WORKERS}
if BROKER_URL:
    cluster["redis"] = BROKER_URL
else:
    cluster["orm"] = "default"

if PROFILE in {"tuned", "saveall"}:
    cluster.update({
        "save_limit": -1 if PROFILE == "tuned" else 0,
        "bulk": int(os.environ.get("BENCH_Q2_BULK", "10")),
        "queue_limit": int(os.environ.get("BENCH_Q2_QUEUE_LIMIT", str(WORKERS * 4))),
        "recycle": 100_000,
        "poll": 0.1,
        "timeout": 60,
        "retry": 120,
    })
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("BENCH_Q2_CONN_MAX_AGE", "600"))

Q_CLUSTER = cluster
