"""Structured search of the run and dead-letter lists: what an operator types in "Search".

``parse_search`` turns ``task:sync queue:emails kwargs.customer:ACME-42 card declined`` into a
``Search``; the filter forms turn that into querysets. The grammar, in the order it is tried:

- ``task:NAME`` (a dotted path, or the short name the lists show), ``queue:NAME``,
  ``status:NAME`` (each may list several, comma-separated), ``worker:HOST[:PID]`` (a prefix);
- ``kwargs.KEY:VALUE`` (``kwargs.a.b:VALUE`` for nested keys): an unquoted value that is a
  JSON number, ``true``, ``false`` or ``null`` matches that value or its text, anything else
  (or a ``"quoted value"``) matches the string;
- ``id:PREFIX`` or a lone run id: the full UUID or its first 8 (or more) characters, the short
  id the dashboard shows everywhere;
- everything else is free text, matched as one phrase (``"quotes"`` keep spaces together).
  A word such as ``ValueError:`` is text, not a qualifier: only the names above are.

Ids are searched as a range of primary keys (``id >= prefix000… AND id <= prefixfff…``), so a
short id costs one index seek on either database.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import JSONField, Q, Value
from django.db.models.expressions import JSONNull
from django.db.models.fields.json import KeyTransform, KeyTransformExact

from taskboard.models import Status

QUALIFIERS = ("task", "queue", "status", "worker", "id")
HELP = "a run id (or its first 8 characters), task:, queue:, status:, worker:, kwargs.KEY:VALUE or text"

# A token: an optional ``name:`` and a value, quoted (JSON string syntax) or up to a space.
_TOKEN = re.compile(r'(?:(?P<name>[A-Za-z_][\w.]*):(?=\S))?(?P<value>"(?:[^"\\]|\\.)*"|"[^"]*$|\S+)')
_HEX = re.compile(r"[0-9a-f]{8,32}")
_KEY = re.compile(r"[^\s.:\"]+")


class SearchError(ValueError):
    """The search text cannot be understood; the message says what to write instead."""


@dataclass(frozen=True)
class IdPrefix:
    """Run ids starting with ``hex`` (8 to 32 hex digits, dashes removed)."""

    hex: str

    @property
    def low(self) -> uuid.UUID:
        return uuid.UUID(self.hex.ljust(32, "0"))

    @property
    def high(self) -> uuid.UUID:
        return uuid.UUID(self.hex.ljust(32, "f"))


@dataclass
class Search:
    tasks: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    worker: str = ""
    kwargs: list[tuple[tuple[str, ...], list[Any]]] = field(default_factory=list)  # path, accepted values
    run_id: IdPrefix | None = None  # from ``id:``: always an id
    maybe_id: IdPrefix | None = None  # a lone id-like word: an id if some run has it, else text
    text: str = ""

    @property
    def qualifiers(self) -> list[str]:
        """The qualifiers used, for refusing those a list cannot apply."""
        used = [name for name, value in (("task", self.tasks), ("queue", self.queues),
                                         ("status", self.statuses), ("worker", self.worker)) if value]
        return used + (["kwargs"] if self.kwargs else [])


def id_prefix(text: str) -> IdPrefix | None:
    """The id prefix ``text`` spells (a UUID, with or without dashes, or its start), or None."""
    digits = text.strip().lower().replace("-", "")
    return IdPrefix(digits) if _HEX.fullmatch(digits) else None


def _unquote(value: str) -> tuple[str, bool]:
    if not value.startswith('"'):
        return value, False
    if len(value) < 2 or not value.endswith('"'):
        raise SearchError(f"{value[:30]} has no closing quote")
    try:
        return json.loads(value), True
    except ValueError:
        raise SearchError(f"{value[:30]} is not a valid quoted value") from None


def _kwarg_values(value: str, quoted: bool) -> list[Any]:
    """What ``kwargs.KEY:value`` matches: the string, and the JSON scalar it spells if any."""
    if quoted:
        return [value]
    try:
        parsed = json.loads(value)
    except ValueError:
        return [value]
    if isinstance(parsed, bool | int | float) or parsed is None:
        return [parsed, value]
    return [value]


def _names(value: str, name: str, known: Sequence[str] | None = None) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise SearchError(f"{name}: needs a value, e.g. {name}:NAME")
    if known is not None:
        unknown = [item for item in items if item not in known]
        if unknown:
            raise SearchError(f"{name}:{unknown[0]} is not one of {', '.join(known)}")
    return items


def _task_names(value: str, tasks: Sequence[str]) -> list[str]:
    """Dotted paths for ``task:`` — a short name matches every registered task of that name."""
    names: list[str] = []
    for item in _names(value, "task"):
        short = [path for path in tasks if path.rsplit(".", 1)[-1] == item]
        names += short if item not in tasks and short else [item]
    return names


def parse_search(text: str, tasks: Sequence[str] = ()) -> Search:
    """The ``Search`` that ``text`` spells; ``SearchError`` with a precise message if none."""
    search = Search()
    words: list[str] = []
    for match in _TOKEN.finditer(text):
        name, raw = match.group("name"), match.group("value")
        value, quoted = _unquote(raw)
        key = (name or "").lower()
        if key == "task":
            search.tasks += _task_names(value, tasks)
        elif key == "queue":
            search.queues += _names(value, "queue")
        elif key == "status":
            search.statuses += _names(value.lower(), "status", Status.values)
        elif key == "worker":
            search.worker = _names(value, "worker")[0]
        elif key == "id":
            if (prefix := id_prefix(value)) is None:
                raise SearchError(f"id:{value[:40]} is not a run id; give the full id or its first 8 characters")
            search.run_id = prefix
        elif key.startswith("kwargs."):
            path = tuple(key.removeprefix("kwargs.").split("."))
            if not all(_KEY.fullmatch(part) for part in path):
                raise SearchError(f"{name}: is not a keyword argument; write kwargs.KEY:VALUE")
            search.kwargs.append((tuple(name.split(".")[1:]), _kwarg_values(value, quoted)))
        else:
            words.append(f"{name}:{raw}" if name else value)
    if len(words) == 1 and (prefix := id_prefix(words[0])) is not None and search.run_id is None:
        search.maybe_id = prefix
    search.text = " ".join(words)
    return search


# --- conditions -----------------------------------------------------------------------------


def id_condition(prefix: IdPrefix, field: str = "pk") -> Q:
    """Ids starting with ``prefix``: a range on the (indexed) id column."""
    return Q(**{f"{field}__gte": prefix.low, f"{field}__lte": prefix.high})


def kwarg_condition(path: tuple[str, ...], values: list[Any]) -> Q:
    # KeyTransform rather than ``kwargs__<key>``: a key named like a lookup ("contains",
    # "in") must still mean the key. A lookup built by hand is not prepared by its field, so
    # the value is given as JSON explicitly and compared by the JSON key lookup: PostgreSQL has
    # no ``jsonb = integer``, and on SQLite JSON ``true`` must not equal 1.
    value: KeyTransform = KeyTransform(path[0], "kwargs")
    for part in path[1:]:
        value = KeyTransform(part, value)
    condition = Q()
    for accepted in values:
        literal = JSONNull() if accepted is None else Value(accepted, output_field=JSONField())
        condition |= Q(KeyTransformExact(value, literal))
    return condition


def indexed_run_condition(search: Search) -> Q:
    """The parts an index serves: task, queue, status (``run_*_list``) and ids (the pk)."""
    condition = Q()
    if search.tasks:
        condition &= Q(task__in=search.tasks)
    if search.queues:
        condition &= Q(queue__in=search.queues)
    if search.statuses:
        condition &= Q(status__in=search.statuses)
    if search.run_id is not None:
        condition &= id_condition(search.run_id)
    return condition


def scanned_run_condition(search: Search, text: str) -> Q | None:
    """The parts no index serves (worker, arguments, text): the caller bounds the rows read."""
    condition = Q()
    if search.worker:
        condition &= Q(worker__startswith=search.worker)
    for path, values in search.kwargs:
        condition &= kwarg_condition(path, values)
    if text:
        condition &= Q(last_error__icontains=text) | Q(kwargs__icontains=text) | Q(args__icontains=text)
    return condition if condition else None
