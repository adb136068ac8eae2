"""Row-factory fixtures for the dashboard and admin tests (the factories are in
``tests/factories.py``; a fixture also gives the test its database)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from taskboard.models import TaskAttempt, TaskRun
from tests import factories

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def make_run(db: Any) -> Callable[..., TaskRun]:
    """``factories.make_run``: a run with the timestamps that fit its status."""
    return factories.make_run


@pytest.fixture
def make_attempt(db: Any) -> Callable[..., TaskAttempt]:
    """``factories.make_attempt``."""
    return factories.make_attempt


@pytest.fixture
def make_failed(db: Any) -> Callable[..., TaskRun]:
    """``factories.make_failed``: a run that failed for good, as the runner leaves it."""
    return factories.make_failed


@pytest.fixture
def outsider_client(outsider: User) -> Client:
    client = Client()
    client.force_login(outsider)
    return client
