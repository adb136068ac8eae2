from collections.abc import Callable
from typing import Any

import pytest

from taskboard.models import TaskAttempt, TaskRun
from tests import factories


@pytest.fixture
def make_run(db: Any) -> Callable[..., TaskRun]:
    return factories.make_run


@pytest.fixture
def make_attempt(db: Any) -> Callable[..., TaskAttempt]:
    return factories.make_attempt
