"""Every dashboard test starts (and ends) with none of the dashboard's cached aggregates.

A later test would otherwise be served another test's counts when the cache outlives the
test (Redis): see ``tests.cache_helpers``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cache_helpers import forget_dashboard_cache


@pytest.fixture(autouse=True)
def _fresh_dashboard_cache() -> Iterator[None]:
    # DatabaseCache rows roll back with each test's transaction.
    forget_dashboard_cache(database_rows=False)
    yield
    forget_dashboard_cache(database_rows=False)
