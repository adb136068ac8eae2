"""Fixtures and helpers for the JSON API, /metrics and command tests.

Test modules take the fixtures with ``from tests.web.api.api_fixtures import *`` and import the
helpers by name; the fixtures build on the user fixtures of ``tests/conftest.py``. The row
factories (``make_run``, ``failed_run``, …) are those of ``tests/factories.py``, imported here
for the modules that import them from this one.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from taskboard.operations import tokens
from tests import factories
from tests.cache_helpers import forget_dashboard_cache
from tests.factories import (  # noqa: F401 - helpers imported by name from this module
    enqueue,
    failed_run,
    make_attempt,
    make_dead_letter,
    make_worker,
    succeeded_run,
)

JSON = "application/json"

# The API, metrics and command tests count runs per task: theirs are of taskboard.demo.noop
# unless they say otherwise.
make_run = partial(factories.make_run, task=factories.NOOP)

# What ``from tests.web.api.api_fixtures import *`` brings in: the fixtures only (helpers are
# imported by name). Star-importing keeps pytest able to find them without unused names.
__all__ = ["fresh_failure_groups", "operator_api", "outsider_api", "viewer_api"]


@pytest.fixture
def fresh_failure_groups() -> None:
    """No failure groups computed by an earlier test: the lists stay a few seconds in the
    shared cache, which outlives a test on Redis."""
    forget_dashboard_cache()


def bearer_client(key: str, **defaults: Any) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", **defaults)


def token_for(user: User) -> str:
    return tokens.create_token(user, "test")[1]


@pytest.fixture
def operator_api(operator: User) -> Client:
    """Bearer-token client of a staff user with every taskboard permission."""
    return bearer_client(token_for(operator))


@pytest.fixture
def viewer_api(viewer: User) -> Client:
    """Bearer-token client of read-only staff."""
    return bearer_client(token_for(viewer))


@pytest.fixture
def outsider_api(outsider: User) -> Client:
    """Bearer-token client of a non-staff user (who holds the permissions nonetheless)."""
    return bearer_client(token_for(outsider))


def post_json(client: Client, url: str, body: Any = None, **extra: Any) -> Any:
    return client.post(url, body if body is not None else {}, content_type=JSON, **extra)
