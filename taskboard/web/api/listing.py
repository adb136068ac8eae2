"""What the list endpoints share: optional exact filters and one keyset page as JSON.

The page is ``readmodels.paging``'s (the dashboard's too); a malformed ``cursor`` is a 400
(``InvalidCursor``), and ``next`` is the cursor of the following, older page or null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet

from taskboard.readmodels.paging import Cursor, keyset_page


def filtered[M: Model](qs: QuerySet[M], **conditions: object) -> QuerySet[M]:
    """``qs`` filtered by the conditions that were given (not None)."""
    return qs.filter(**{lookup: value for lookup, value in conditions.items() if value is not None})


def page_json[M: Model](qs: QuerySet[M], time_field: str, *, cursor: str | None, pk: Callable[[str], Any],
                        limit: int, item: Callable[[M], dict[str, Any]]) -> dict[str, Any]:
    """``{"results": [item…], "next": cursor-or-null}``, newest first after ``cursor``."""
    after = Cursor.parse(cursor, pk) if cursor else None
    page = keyset_page(qs, time_field, after=after, size=limit)
    return {"results": [item(row) for row in page.rows], "next": page.next}
