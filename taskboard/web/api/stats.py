"""``/api/stats/``: run counts by status and by task, and open dead letters."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from taskboard.readmodels import totals
from taskboard.web.api.auth import CAN_VIEW
from taskboard.web.api.schemas import ERRORS, ErrorOut, StatsOut

router = Router()


@router.get("/stats/", auth=CAN_VIEW, response={200: StatsOut, ERRORS: ErrorOut}, summary="Counts")
def read_stats(request: HttpRequest) -> dict[str, Any]:
    """Runs by status and by task and status over the whole table, and open dead letters."""
    return totals.api_stats()
