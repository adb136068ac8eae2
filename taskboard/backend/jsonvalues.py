"""JSON values the databases can store: no NUL characters, no lone surrogates, bounded depth.

PostgreSQL rejects NUL in text and jsonb; neither driver can encode lone surrogates
(``"\\ud800"``); and nesting deeper than MAX_JSON_DEPTH is refused before any recursive code
(``normalize_json``, ``json.dumps``) sees it. Pure, no database.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.json import normalize_json

MAX_JSON_DEPTH = 64


class UnsafeJSON(ValueError):
    pass


def check_json_value(value: Any, field: str) -> None:
    """Refuse JSON the databases cannot store or our code would choke on.

    PostgreSQL rejects NUL characters in text and jsonb; neither database driver can encode
    lone surrogates (``"\\ud800"``); and nesting deeper than MAX_JSON_DEPTH is refused before
    any recursive code sees it. Iterative, so the check itself cannot recurse too deep.
    """
    check_plain_json(value, field)


# Values ``normalize_json`` returns as they are (exact types: a subclass may serialise otherwise).
_PLAIN_SCALARS = frozenset((int, float, bool, type(None)))


def check_plain_json(value: Any, field: str) -> bool:
    """``check_json_value``, answering whether ``value`` is plain JSON already: dicts with text
    keys, lists, text, numbers, booleans and None, which ``normalize_json`` would only copy."""
    plain = True
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise UnsafeJSON(f"{field} is nested more than {MAX_JSON_DEPTH} levels deep")
        kind = type(item)
        if kind is str:
            if not item.isascii() or "\x00" in item:  # ASCII text holds no surrogate
                _check_text(item, field)
        elif kind is dict or isinstance(item, dict):
            plain = plain and kind is dict
            for key, child in item.items():
                if isinstance(key, str):
                    if not key.isascii() or "\x00" in key:
                        _check_text(key, field)
                    plain = plain and type(key) is str
                else:
                    plain = False
                stack.append((child, depth + 1))
        elif kind is list or isinstance(item, list | tuple):
            plain = plain and kind is list
            stack.extend((child, depth + 1) for child in item)
        elif kind not in _PLAIN_SCALARS:
            plain = False
            if isinstance(item, str):
                _check_text(item, field)
    return plain


def _check_text(text: str, field: str) -> None:
    if "\x00" in text:
        raise UnsafeJSON(f"{field} contains a NUL character (\\u0000), which cannot be stored")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeJSON(f"{field} contains an unpaired surrogate, which is not valid Unicode text") from None


def to_json(value: Any, field: str) -> tuple[Any, str]:
    """``value`` as plain JSON (Django's ``normalize_json``) and its text: the one way task
    arguments, checkpoints and results become storable. Raises ``TypeError``/``ValueError``
    (NaN, non-JSON types, NUL, lone surrogates, too deep) naming ``field``."""
    check_json_value(value, field)
    value = normalize_json(value)
    return value, json.dumps(value, allow_nan=False)
