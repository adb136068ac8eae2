"""Forgetting the dashboard's cached aggregates between tests.

The readmodels keep closed chart buckets, hourly failure cells and the failure-group lists in
the shared cache (``taskboard.readmodels.cache``, keys under ``PREFIX``). With Redis
(``TASKBOARD_BROKER_URL``, as on the PostgreSQL runs) they outlive the test that wrote them; so
do DatabaseCache rows written by a live server (the browser tests). Only the dashboard's own
keys are removed: the Redis database may also hold django-q2's broker and cluster keys.
"""

from __future__ import annotations

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connection

from taskboard.readmodels.cache import PREFIX


def forget_dashboard_cache(*, database_rows: bool = True) -> None:
    """``database_rows=False``: leave a DatabaseCache alone (for tests whose rows roll back
    with their transaction, and which may not have database access at all)."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
        try:
            keys = list(client.scan_iter(match=backend.make_key(f"{PREFIX}*")))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
    elif isinstance(backend, DatabaseCache):
        if not database_rows:
            return
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(settings.CACHES["default"]["LOCATION"])
            cursor.execute(f"DELETE FROM {table} WHERE cache_key LIKE %s", [f"%{PREFIX}%"])
    else:
        backend.clear()
