"""Concurrency and rate keys: templates such as ``"user:{user_id}"`` filled from the bound
arguments at enqueue (pure)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

MAX_KEY = 255


def placeholders(template: str) -> list[str]:
    """The argument names a template uses; ValueError for anything but plain ``{name}``."""
    names = []
    for _, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"key template {template!r}: use plain {{argument}} placeholders")
        names.append(field)
    return names


def check_template(template: str, parameters: set[str] | None) -> None:
    """ValueError when the template is malformed or names an argument the function lacks
    (``parameters`` None: the function takes **kwargs, anything goes)."""
    if not isinstance(template, str) or not template:
        raise ValueError("a key template must be a non-empty string")
    unknown = [n for n in placeholders(template) if parameters is not None and n not in parameters]
    if unknown:
        raise ValueError(f"key template {template!r} names unknown argument(s) {', '.join(unknown)}")


def resolve(template: str, arguments: Mapping[str, Any]) -> str:
    """The key of one run; KeyError naming the missing argument."""
    values = {}
    for name in placeholders(template):
        if name not in arguments:
            raise KeyError(name)
        values[name] = arguments[name]
    return template.format(**values)[:MAX_KEY]
