"""``/api/failures/``: failure groups (failed attempts by fingerprint) and their replay.

The groups are the dashboard's (``readmodels.failures``): the last seven days, at most 50,
newest or most frequent first. A replay acts on the open dead letters whose run failed for
good with the group's failure, as the dashboard's "Replay all" does.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest
from ninja import Path, Query, Router

from taskboard import operations
from taskboard.operations import inputs
from taskboard.readmodels import failures
from taskboard.readmodels.representations import failure_group_to_dict
from taskboard.web.api.auth import CAN_REPLAY, CAN_VIEW
from taskboard.web.api.dead_letters import replayed_json
from taskboard.web.api.schemas import ERRORS, FINGERPRINT_PATTERN, ErrorOut, FailureGroupList, ReplayedOut
from taskboard.web.errors import JsonError
from taskboard.web.requests import ApiRequest

router = Router()


@router.get("/failures/", auth=CAN_VIEW, response={200: FailureGroupList, ERRORS: ErrorOut},
            summary="List failure groups")
def list_failure_groups(
    request: HttpRequest,
    task: str | None = None,
    sort: Literal["recent", "frequent"] = Query("recent", description="recent: last seen first; "
                                                "frequent: most failures in 24 h first"),
) -> dict[str, Any]:
    """Failed attempts of the last 7 days grouped by task, exception and normalised message.

    ``runs_sampled``/``recovered``: of the recent runs that hit the failure and have finished,
    how many still succeeded (does retrying help?)."""
    inputs.check_text(task, "task")
    return {"results": [failure_group_to_dict(g) for g in failures.failure_groups(task or None, sort)]}


@router.post("/failures/{fingerprint}/replay/", auth=CAN_REPLAY, response={200: ReplayedOut, ERRORS: ErrorOut},
             summary="Replay a failure group's dead letters")
def replay_failure_group(request: ApiRequest,
                         fingerprint: str = Path(..., pattern=FINGERPRINT_PATTERN)) -> dict[str, Any]:
    """Replay the open dead letters whose run failed for good with this failure."""
    group = failures.group_summary(fingerprint)
    if group is None:
        raise JsonError(404, "not_found", f"no failures with fingerprint {fingerprint}")
    letters = failures.group_dead_letters(fingerprint, group.task)
    with transaction.atomic():
        outcome = operations.replay_dead_letters(letters, user=request.auth, filter={"fingerprint": fingerprint})
    return replayed_json(outcome)
