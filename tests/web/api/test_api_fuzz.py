"""Generated bodies against the write endpoints: never a 5xx, never a row unless 2xx."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from taskboard.models import TaskRun
from tests.web.api.api_fixtures import *  # noqa: F403 - pytest fixtures
from tests.web.api.api_fixtures import JSON, failed_run

pytestmark = pytest.mark.django_db

# How many examples is the profile's (tests/conftest.py: fast by default, thorough in CI). The
# function-scoped fixtures (clients, rows) are shared by the examples on purpose.
FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_leaves = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
               | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20))
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
tasks = st.sampled_from([
    "taskboard.demo.noop", "taskboard.demo.sleep", "taskboard.demo.flaky", "taskboard.demo.fail",
    "taskboard.demo.steps", "os.system", "", "taskboard.demo",
]) | st.text(max_size=30)
datetimes = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30))
run_afters = (
    datetimes.map(lambda d: d.isoformat())
    | st.builds(lambda d, h: d.replace(tzinfo=UTC).astimezone(UTC).isoformat().replace("+00:00", f"+{h:02d}:00"),
                datetimes, st.integers(0, 23))
    | st.text(max_size=30)
    | json_leaves
)
demo_kwargs = st.fixed_dictionaries({}, optional={
    "seconds": json_leaves, "fail_times": json_leaves, "message": json_leaves,
    "steps": json_leaves, "step_seconds": json_leaves,
})
enqueue_bodies = st.fixed_dictionaries({}, optional={
    "task": tasks,
    "args": st.lists(json_values, max_size=3) | json_values,
    "kwargs": demo_kwargs | json_values,
    "queue": st.sampled_from(["default", "nope", ""]) | json_leaves,
    "run_after": run_afters,
    "idempotency_key": st.text(max_size=210) | json_leaves,
    "extra": json_values,
})

# Close to valid, so that many examples reach the database: strings with any code point
# (NUL, lone surrogates), numbers at the edges, keys that may or may not be reused.
plausible_bodies = st.one_of(
    st.fixed_dictionaries({"task": st.just("taskboard.demo.fail"), "kwargs": st.fixed_dictionaries(
        {"message": st.text(max_size=40)})}, optional={"idempotency_key": st.text(min_size=1, max_size=5)}),
    st.fixed_dictionaries({"task": st.just("taskboard.demo.sleep"), "kwargs": st.fixed_dictionaries(
        {"seconds": st.floats() | st.integers()})}, optional={"run_after": run_afters}),
    st.fixed_dictionaries({"task": st.just("taskboard.demo.noop")},
                          optional={"queue": st.text(max_size=10), "run_after": run_afters, "args": st.just([])}),
)


def encoded(bodies: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Mostly well-formed JSON objects, plus any JSON value and arbitrary bytes."""
    return st.one_of(
        bodies.map(lambda b: json.dumps(b).encode()),
        bodies.map(lambda b: json.dumps(b, ensure_ascii=False).encode("utf-8", "surrogatepass")),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=64),
    )


def check(response: Any, rows_before: int) -> None:
    assert response.status_code < 500, response.content
    event(f"HTTP {response.status_code}")
    rows_after = TaskRun.objects.count()
    if 200 <= response.status_code < 300:
        assert rows_after - rows_before <= 1
    else:
        assert rows_after == rows_before
        assert set(response.json()["error"]) == {"code", "message"}


@FUZZ
@given(body=encoded(enqueue_bodies | plausible_bodies))
def test_enqueue_never_fails_hard(operator_api: Client, body: bytes) -> None:
    rows_before = TaskRun.objects.count()
    check(operator_api.post("/api/runs/", body, content_type=JSON), rows_before)


@pytest.fixture
def failed_run_id(db: Any) -> str:
    return str(failed_run().id)


@FUZZ
@given(body=encoded(st.fixed_dictionaries({}, optional={
    "kwargs": demo_kwargs | json_values | st.fixed_dictionaries({"message": st.text(max_size=40)}),
    "args": json_values,
})))
def test_replay_never_fails_hard(operator_api: Client, failed_run_id: str, body: bytes) -> None:
    rows_before = TaskRun.objects.count()
    check(operator_api.post(f"/api/runs/{failed_run_id}/replay/", body, content_type=JSON), rows_before)


def test_far_future_run_after_is_accepted(operator_api: Client) -> None:
    when = (datetime.now(UTC) + timedelta(days=365 * 100)).isoformat()
    body = json.dumps({"task": "taskboard.demo.noop", "run_after": when})
    assert operator_api.post("/api/runs/", body, content_type=JSON).status_code == 201


query_values = st.text(max_size=40) | st.integers().map(str) | st.sampled_from(["failed", "500", "0", ""])
list_queries = st.fixed_dictionaries({}, optional={
    "status": query_values, "task": query_values, "queue": query_values, "limit": query_values,
    "cursor": query_values | st.binary(max_size=60).map(lambda b: base64.urlsafe_b64encode(b).decode()),
    "open": query_values,
})


@FUZZ
@given(query=list_queries)
def test_list_queries_never_fail_hard(operator_api: Client, query: dict[str, str]) -> None:
    for url in ("/api/runs/", "/api/dead-letters/"):
        response = operator_api.get(url, query)
        assert response.status_code in {200, 400}, response.content
