"""The events' JSON written at flush (``taskboard.notify.messages``) is what ``json.dumps``
writes for the same event dict."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from taskboard.notify import messages


@pytest.mark.parametrize("micros", [0, 1, 999_999, 1_764_417_600_000_000, 1_764_417_600_123_456])
def test_timestamps_are_isoformat_in_utc(micros):
    expected = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)).isoformat()
    assert messages.timestamp(micros) == expected


def test_a_run_s_event_is_the_json_of_its_dict():
    text = messages.event_text("run.started", "billing.tasks.sync", 1_764_417_600_000_042,
                               ("0b4c8a52-4d1e-4c9a-9d7e-2f0e1a3b5c6d", "default", 2))
    assert json.loads(text) == {
        "type": "run.started", "timestamp": "2025-11-29T12:00:00.000042+00:00",
        "data": {"id": "0b4c8a52-4d1e-4c9a-9d7e-2f0e1a3b5c6d", "task": "billing.tasks.sync", "queue": "default",
                 "attempt": 2}}
    assert list(json.loads(text)) == ["type", "timestamp", "data"]


def test_strings_are_escaped_and_other_events_keep_their_fields():
    fields = {"id": "x", "task": 't"q', "queue": "é\n", "status": "failed", "attempt": 1, "error": 'Boom: "no"\\'}
    text = messages.event_text("run.failed", 't"q', 1_000_000, fields)
    assert json.loads(text)["data"] == fields
    assert json.loads(messages.event_text("run.started", 't"q', 0, ("i\u2028d", "é\n", 1)))["data"] == {
        "id": "i\u2028d", "task": 't"q', "queue": "é\n", "attempt": 1}
    assert json.loads(messages.array([text, text])) == [json.loads(text)] * 2
