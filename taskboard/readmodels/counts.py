"""Bounded counts: never ``COUNT(*)`` over a table on a page.

A count reads at most ``bound + 1`` rows (``SELECT COUNT(*) FROM (... LIMIT bound + 1)``) and
shows as "10,000+" beyond the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from taskboard.readmodels.paging import Page

LIST_COUNT_BOUND = 1_000
PANEL_COUNT_BOUND = 2_000


@dataclass(frozen=True)
class BoundedCount:
    value: int
    more: bool = False

    def __str__(self) -> str:
        return f"{self.value:,}+" if self.more else f"{self.value:,}"


def bounded_count(qs: QuerySet[Any], bound: int) -> BoundedCount:
    """Counts at most ``bound`` rows."""
    counted = qs.order_by().values("pk")[: bound + 1].count()
    return BoundedCount(min(counted, bound), counted > bound)


def panel_count(qs: QuerySet[Any]) -> BoundedCount:
    """A count on a live panel (the overview's tiles and queues)."""
    return bounded_count(qs, PANEL_COUNT_BOUND)


def page_count(page: Page[Any], qs: QuerySet[Any], bound: int | None = None) -> BoundedCount:
    """How many rows match a list: a first page that is not full is the answer, no query needed."""
    if page.is_first and page.older is None:
        return BoundedCount(len(page.rows))
    return bounded_count(qs, bound or LIST_COUNT_BOUND)
