"""Users and rows for the flow-control surface tests (API, dashboard, operations)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from taskboard.models import HoldReason, Status, TaskRun
from taskboard.operations import PERM_BREAKER, PERM_PAUSE
from tests.conftest import VIEWER_PERMS, make_user
from tests.factories import NOOP, make_run

BREAKER = "demo-payments"  # the configured default breaker (CONTRACT)

__all__ = ["flow_operator"]


@pytest.fixture
def flow_operator(db: Any) -> User:
    """Staff who may pause and force breakers (and look), nothing else."""
    return make_user("flow-operator", perms=(*VIEWER_PERMS, PERM_PAUSE, PERM_BREAKER))


def held_run(reason: str = HoldReason.CONCURRENCY, key: str = "user:42", **fields: Any) -> TaskRun:
    """A run as admission leaves it: held, with its reason, key and since."""
    return make_run(Status.HELD, task=NOOP, hold_reason=reason, hold_key=key, held_since=timezone.now(), **fields)


def hold_queued(run: TaskRun, reason: str, key: str) -> None:
    """What a claim does to a queued run of a paused queue (admission's hold)."""
    assert TaskRun.objects.hold(run.pk, reason, key, timezone.now())
