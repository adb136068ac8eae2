"""Operator input from outside: JSON text, ISO 8601 times and free-text fields.

The JSON API (request bodies, query filters) and ``taskboard_enqueue`` (command options) parse
through these functions, so both refuse the same things with the same precise message. A
``BadInput`` is a 400 for the API and a ``CommandError`` for a command.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from taskboard.backend import jsonvalues


class BadInput(ValueError):
    """Input that cannot be accepted; the message says precisely why."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads(text: str | bytes) -> Any:
    """Strict ``json.loads``: ``NaN`` and ``Infinity`` are refused like any other non-JSON.

    Raises ``ValueError`` (malformed) or ``RecursionError`` (nested too deeply); callers word
    the message for their audience.
    """
    return json.loads(text, parse_constant=_reject_constant)


def check_json_value(value: Any, field: str) -> None:
    """``jsonvalues.check_json_value`` (storable by every database) raising ``BadInput``."""
    try:
        jsonvalues.check_json_value(value, field)
    except jsonvalues.UnsafeJSON as exc:
        raise BadInput(str(exc)) from None


def check_text(value: str | None, field: str) -> None:
    """An optional free-text field (a filter, a queue name) that must be storable."""
    if value is not None:
        check_json_value(value, field)


def parse_run_after(value: str, field: str = "run_after") -> datetime:
    """An aware ISO 8601 datetime, normalised to UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(
            f"{field} {value[:60]!r} is not an ISO 8601 datetime (e.g. 2030-01-31T12:00:00+00:00)"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise BadInput(f"{field} {value[:60]!r} has no UTC offset; add one, e.g. +00:00 or Z")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise BadInput(f"{field} {value[:60]!r} is out of range") from None
