"""The JSON text of buffered run events, written once per flush instead of per event, and
the ``WebhookMessage`` rows (with their delivery runs) that carry it.

A publisher keeps only what an event needs, as it is at that moment: the time as integer
microseconds and the run's fields (a tuple for ``run.enqueued``/``started``/``succeeded``,
a dict for the rarer events). Here each becomes ``{"type", "timestamp", "data"}`` text, the
same object ``json.dumps`` would write for the dict, in a fraction of its time: the
timestamp's date and time are formatted once per second (the events of one flush share a
few seconds), strings are escaped by the C encoder, task and queue names once each.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from json.encoder import encode_basestring  # the C escaper
from typing import Any, cast

from django.db import transaction
from django.db.models import Field
from django.utils import timezone

from taskboard.backend.task import TaskboardTask
from taskboard.models import WebhookMessage, sqlitelock

ResultFields = tuple[str, str, int]  # the run's id, its queue, the attempt
Fields = ResultFields | dict[str, Any]

MESSAGE_MAX = 1000  # events per message (and per delivery run)

_quoted: dict[str, str] = {}  # task and queue names: a few values, escaped once
_QUOTED_MAX = 10_000
_seconds: dict[int, str] = {}  # "2026-11-29T12:00:00" for the last few seconds
_SECONDS_MAX = 64


def quoted(text: str) -> str:
    cached = _quoted.get(text)
    if cached is None:
        if len(_quoted) >= _QUOTED_MAX:
            _quoted.clear()
        cached = _quoted[text] = encode_basestring(text)
    return cached


def timestamp(micros: int) -> str:
    """ISO 8601 in UTC, as ``datetime.isoformat`` writes it (no fraction when it is zero)."""
    second, fraction = divmod(micros, 1_000_000)
    stem = _seconds.get(second)
    if stem is None:
        if len(_seconds) >= _SECONDS_MAX:
            _seconds.clear()
        stem = _seconds[second] = datetime.fromtimestamp(second, UTC).replace(tzinfo=None).isoformat()
    return f"{stem}.{fraction:06d}+00:00" if fraction else f"{stem}+00:00"


def event_text(kind: str, task: str, micros: int, fields: Fields) -> str:
    """One event: ``{"type", "timestamp", "data": {"id", "task", "queue", "attempt", …}}``."""
    if isinstance(fields, tuple):
        run_id, queue, attempt = fields
        data = (f'{{"id":{encode_basestring(run_id)},"task":{quoted(task)},"queue":{quoted(queue)},'
                f'"attempt":{attempt:d}}}')
    else:
        data = json.dumps(fields, separators=(",", ":"), ensure_ascii=False, default=str)
    return f'{{"type":{quoted(kind)},"timestamp":"{timestamp(micros)}","data":{data}}}'


def array(texts: list[str]) -> str:
    return "[" + ",".join(texts) + "]"


def insert_message(subscription: int, events: str) -> int:
    """A ``WebhookMessage`` of ``events`` (an array's JSON text, stored as it is: the ORM would
    take a list to encode, and its INSERT of an expression reads the 150 kB back); its id."""
    connection = transaction.get_connection()
    meta = WebhookMessage._meta
    quote = connection.ops.quote_name
    columns = [cast(Field, meta.get_field(name)) for name in ("subscription", "events", "created_at")]
    jsonb = "::jsonb" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c.column) for c in columns)}) "
                       f"VALUES (%s, %s{jsonb}, %s) RETURNING {quote(meta.pk.column)}",
                       [subscription, events, columns[2].get_db_prep_save(timezone.now(), connection)])
        return int(cursor.fetchone()[0])


def write(texts: dict[int, list[str]], runner: TaskboardTask) -> int:
    """Per subscription (id → its events' JSON), messages of up to ``MESSAGE_MAX`` events and
    their delivery runs, in one transaction; how many messages were written.

    A subscription removed meanwhile fails the commit (the foreign key is checked then, not
    per statement): the caller keeps the events and reads the subscriptions again."""
    written = 0
    # One write transaction for the round, queued like the worker's own writes on SQLite
    # (so they do not sleep in SQLite's busy handler behind it).
    with sqlitelock.write_turn(transaction.get_connection()), transaction.atomic():
        for sub, events in texts.items():
            for start in range(0, len(events), MESSAGE_MAX):
                message = insert_message(sub, array(events[start:start + MESSAGE_MAX]))
                runner.enqueue(channel="subscription", notification=message)
                written += 1
    return written
