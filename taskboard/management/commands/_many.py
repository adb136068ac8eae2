"""``taskboard_enqueue NAME --many FILE``: one run per JSON line, in one transaction.

Each non-blank line is an object ``{"args"?: [...], "kwargs"?: {...}}``; ``-`` reads standard
input. Every line is parsed and every item validated before anything is written; the first bad
one stops the command with a one-line error naming its line number, and nothing is written.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from django.core.management.base import CommandError
from django.db import transaction
from django.tasks.exceptions import InvalidTask

from taskboard import operations
from taskboard.backend.bulk import InvalidItem
from taskboard.exceptions import LimitExceeded, OperationError
from taskboard.operations import inputs


def read_items(stream: IO[str]) -> tuple[list[dict[str, Any]], list[int]]:
    """The items of the lines and the line number of each."""
    items: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                value = inputs.loads(line)
            except (ValueError, RecursionError) as exc:
                raise CommandError(f"line {number}: not valid JSON: {exc}") from None
            if not isinstance(value, dict):
                raise CommandError(f'line {number}: must be a JSON object {{"args"?, "kwargs"?}}, '
                                   f"not {type(value).__name__}")
            try:
                inputs.check_json_value(value, f"line {number}")
            except inputs.BadInput as exc:
                raise CommandError(str(exc)) from None
            items.append(value)
            lines.append(number)
    except UnicodeDecodeError as exc:
        raise CommandError(f"the file is not UTF-8 text: {exc}") from None
    return items, lines


def enqueue_lines(name: str, path: str, options: dict[str, Any]) -> int:
    """Enqueue the lines of ``path`` (``-``: stdin); the number of runs."""
    try:
        if path == "-":
            items, lines = read_items(sys.stdin)
        else:
            with open(path, encoding="utf-8") as stream:
                items, lines = read_items(stream)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not items:
        raise CommandError(f"{path}: no items (one JSON object per line)")
    try:
        with transaction.atomic():
            done = operations.enqueue_many(name, items, queue=options["queue"], priority=options["priority"],
                                           correlation_id=options["correlation_id"])
    except (InvalidItem, LimitExceeded) as exc:
        index = getattr(exc, "index", None)
        if index is None:
            raise CommandError(str(exc)) from None
        message = str(exc).split(": ", 1)[1] if str(exc).startswith("item ") else str(exc)
        raise CommandError(f"line {lines[index]}: {message}") from None
    except (InvalidTask, OperationError) as exc:
        raise CommandError(str(exc)) from None
    return len(done)
