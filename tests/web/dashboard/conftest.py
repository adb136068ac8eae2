"""Every dashboard test starts (and ends) with none of the dashboard's cached aggregates.

The readmodels keep closed chart buckets and hourly failure cells in the shared cache for up to
a day (``taskboard.readmodels.cache``). With the default DatabaseCache those rows live in the
test database and roll back with each test; with Redis (``TASKBOARD_BROKER_URL``, as on the
PostgreSQL runs) they outlive the test that wrote them, and a later test would be served
another test's counts. Only the dashboard's own keys are removed: the Redis database may also
hold django-q2's broker and cluster keys.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from taskboard.readmodels.cache import PREFIX


def forget_dashboard_cache() -> None:
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return  # DatabaseCache rows roll back with the test's transaction
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    try:
        keys = list(client.scan_iter(match=backend.make_key(f"{PREFIX}*")))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(autouse=True)
def _fresh_dashboard_cache() -> Iterator[None]:
    forget_dashboard_cache()
    yield
    forget_dashboard_cache()
