"""Keyset pagination, the one implementation behind every list (dashboard and JSON API).

A list is ordered newest first by an indexed ``(timestamp, pk)`` pair, never by ``OFFSET``.
A position in it is a ``Cursor``, opaque in URLs: url-safe base64 (unpadded) of
``"<ISO 8601 UTC timestamp>|<pk>"``. That format is in bookmarked URLs and API clients'
hands, so it must not change.

Two ways to read a token, for two audiences:

- ``Cursor.decode(token, kind)`` is lenient (the dashboard): a missing or malformed token is
  ``None`` and the page starts at the top.
- ``Cursor.parse(token, kind)`` is strict (the API): a malformed token raises
  ``InvalidCursor`` with a message for the client.

``kind`` turns the pk text into the model's pk (``run_pk`` for UUIDs, ``int_pk`` for
integers) and raises ``ValueError`` for anything else, so a cursor of one list is refused by
a list of another kind.

``keyset_page(qs, "enqueued_at", after=cursor, size=50)`` returns a ``Page``: its ``rows``,
``older`` (the cursor of the next, older page; the API calls it ``next``) and ``newer``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Model, Q, QuerySet

PAGE_SIZE = 50
MAX_TOKEN_LENGTH = 200  # longer tokens are not ours; the lenient reader ignores them

INVALID_CURSOR = "cursor is not valid; use the 'next' value of a previous page"


class InvalidCursor(ValueError):
    """A cursor token this list did not hand out (malformed, or another list's)."""

    def __init__(self, message: str = INVALID_CURSOR) -> None:
        super().__init__(message)


# --- the token ----------------------------------------------------------------------------------


def encode_cursor(at: datetime, pk: Any) -> str:
    """Opaque position after a row in ``(-timestamp, -pk)`` order."""
    raw = f"{at.astimezone(UTC).isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, str]:
    """The aware UTC timestamp and the pk text of a token; ``InvalidCursor`` if malformed."""
    try:
        padded = token + "=" * (-len(token) % 4)
        at_text, pk = base64.urlsafe_b64decode(padded.encode("ascii")).decode().split("|")
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError("naive")
        at = at.astimezone(UTC)
    except (ValueError, OverflowError, UnicodeError, binascii.Error):
        raise InvalidCursor from None
    return at, pk


def run_pk(text: str) -> uuid.UUID:
    """A run's primary key (UUID)."""
    return uuid.UUID(text)


def int_pk(text: str) -> int:
    """An integer primary key (dead letters, attempts): digits only, at most 18 of them."""
    if not text.isdigit() or len(text) > 18:
        raise ValueError(f"not an integer id: {text[:20]!r}")
    return int(text)


def decode_run_cursor(token: str) -> tuple[datetime, uuid.UUID]:
    cursor = Cursor.parse(token, run_pk)
    return cursor.at, run_pk(cursor.pk)


def decode_int_cursor(token: str) -> tuple[datetime, int]:
    cursor = Cursor.parse(token, int_pk)
    return cursor.at, int(cursor.pk)


@dataclass(frozen=True)
class Cursor:
    """A position in a list ordered by ``(timestamp, pk)`` descending."""

    at: datetime
    pk: str

    def encode(self) -> str:
        return encode_cursor(self.at, self.pk)

    @classmethod
    def parse(cls, token: str, kind: Callable[[str], Any]) -> Cursor:
        """The cursor of ``token``; ``InvalidCursor`` when it is malformed or of another kind."""
        at, pk = decode_cursor(token)
        try:
            return cls(at, str(kind(pk)))
        except (TypeError, ValueError):
            raise InvalidCursor from None

    @classmethod
    def decode(cls, token: str | None, kind: Callable[[str], Any]) -> Cursor | None:
        """None for a missing or malformed token (the page then starts at the top)."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        try:
            return cls.parse(token, kind)
        except InvalidCursor:
            return None


# --- the page -----------------------------------------------------------------------------------


@dataclass
class Page[T]:
    rows: list[T]
    older: str | None = None  # cursor of the next (older) page
    newer: str | None = None  # cursor of the previous (newer) page
    is_first: bool = True

    @property
    def next(self) -> str | None:
        """The API's name for ``older``."""
        return self.older


def keyset_page[M: Model](qs: QuerySet[M], time_field: str, *, after: Cursor | None = None,
                          before: Cursor | None = None, size: int | None = None) -> Page[M]:
    """One page of ``qs`` newest first; ``after`` pages to older rows, ``before`` to newer.

    ``qs`` may carry filters, ``only()`` and prefetches; its ordering is replaced. The extra
    ``time <= t`` (or ``>=``) condition lets the database seek the ``(time, id)`` index
    instead of filtering the OR row by row.
    """
    size = size or PAGE_SIZE

    def cursor(row: M) -> str:
        return encode_cursor(getattr(row, time_field), row.pk)

    if before is not None:
        newer = qs.filter(
            Q(**{f"{time_field}__gt": before.at}) | Q(**{time_field: before.at, "pk__gt": before.pk}),
            **{f"{time_field}__gte": before.at},
        ).order_by(time_field, "pk")
        rows = list(newer[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        return Page(rows, older=cursor(rows[-1]) if rows else None,
                    newer=cursor(rows[0]) if rows and has_newer else None, is_first=not has_newer)
    if after is not None:
        qs = qs.filter(
            Q(**{f"{time_field}__lt": after.at}) | Q(**{time_field: after.at, "pk__lt": after.pk}),
            **{f"{time_field}__lte": after.at},
        )
    rows = list(qs.order_by(f"-{time_field}", "-pk")[: size + 1])
    has_older = len(rows) > size
    rows = rows[:size]
    return Page(rows, older=cursor(rows[-1]) if has_older else None,
                newer=cursor(rows[0]) if after is not None and rows else None, is_first=after is None)
