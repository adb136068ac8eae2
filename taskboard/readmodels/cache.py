"""A few seconds of shared memory for aggregates that many operators look at.

Ten operators watching the same page cost one computation. The cache is an optimisation,
never a failure: when it is unavailable the value is computed every time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache

logger = logging.getLogger("taskboard.dashboard")

CACHE_SECONDS = 15
PREFIX = "taskboard:dash:"


def cache_get(key: str) -> Any:
    try:
        return cache.get(f"{PREFIX}{key}")
    except Exception:  # noqa: BLE001 - the cache is an optimisation, never a failure
        logger.warning("dashboard cache unavailable", exc_info=True)
        return None


def cache_set(key: str, value: Any, seconds: int) -> None:
    try:
        cache.set(f"{PREFIX}{key}", value, seconds)
    except Exception:  # noqa: BLE001
        logger.warning("dashboard cache unavailable", exc_info=True)


def cached[T](key: str, compute: Callable[[], T], seconds: int = CACHE_SECONDS) -> T:
    """``compute()`` memoised in the shared cache for a few seconds."""
    value: T | None = cache_get(key)
    if value is None:
        value = compute()
        cache_set(key, value, seconds)
    return value
