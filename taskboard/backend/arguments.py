"""Arguments from outside (code, API, CLI, dashboard): JSON, bound to the signature, typed.

Nothing is stored until the arguments pass; every refusal is an ``InvalidTaskArguments``
(or ``BadInput`` for the API's and CLI's own fields) with a message that says what is wrong.
Values that are not JSON are a ``NonJSONArguments``, which ``Task.enqueue`` turns back into
Django's own ``TypeError``/``ValueError``.
"""

from __future__ import annotations

import functools
import inspect
import json
import types
import typing
from collections.abc import Callable
from typing import Any, NamedTuple

from django.tasks.base import Task
from django.utils.json import normalize_json

from taskboard.backend.jsonvalues import check_plain_json
from taskboard.exceptions import InvalidTaskArguments

# Refuse argument payloads that would bloat every row read by the dashboard.
MAX_ARGUMENTS_BYTES = 512 * 1024


class NonJSONArguments(InvalidTaskArguments):
    """Arguments that are not JSON values; ``error`` is the ``TypeError``/``ValueError`` that
    ``normalize_json`` (or the storability check) raised.

    ``TaskboardBackend.enqueue`` re-raises ``error`` itself, as Django's contract asks of
    ``Task.enqueue``; operator paths (API, CLI, dashboard) answer 400 with this message.
    """

    def __init__(self, error: TypeError | ValueError) -> None:
        super().__init__(f"arguments must be JSON values: {error}")
        self.error = error


class Arguments(NamedTuple):
    """Validated arguments: as plain JSON values, and as the JSON text their columns store."""

    args: list[Any]
    kwargs: dict[str, Any]
    args_json: str
    kwargs_json: str


def validate_arguments(task: Task, args: Any, kwargs: Any) -> tuple[list[Any], dict[str, Any]]:
    """JSON-normalise the arguments and check they bind to the task's signature."""
    checked = validated_arguments(task, args, kwargs)
    return checked.args, checked.kwargs


def validated_arguments(task: Task, args: Any, kwargs: Any) -> Arguments:
    """``validate_arguments``, keeping the JSON text of each (what the row stores: an enqueue
    would otherwise encode them twice). Plain JSON values are taken as given (the row stores
    their text at once; ``TaskResult`` copies them); others are normalised."""
    if not isinstance(args, list | tuple):
        raise InvalidTaskArguments("args must be a list")
    if not isinstance(kwargs, dict):
        raise InvalidTaskArguments("kwargs must be an object")
    args, kwargs = list(args), dict(kwargs)
    try:
        if (args or kwargs) and not check_plain_json([args, kwargs], "arguments"):
            args, kwargs = normalize_json(args), normalize_json(kwargs)
        # Many tasks take no positional or no keyword arguments: no encoder call for those.
        args_json = _ENCODER.encode(args) if args else "[]"
        kwargs_json = _ENCODER.encode(kwargs) if kwargs else "{}"
    except (TypeError, ValueError) as exc:
        raise NonJSONArguments(exc) from None
    size = len(args_json) + len(kwargs_json) + 4  # as the one text '[args, kwargs]'
    if size > MAX_ARGUMENTS_BYTES:
        raise InvalidTaskArguments(
            f"arguments are {size} bytes of JSON, over the {MAX_ARGUMENTS_BYTES} limit"
        )
    if kwargs and any(not isinstance(key, str) for key in kwargs):
        raise InvalidTaskArguments("kwargs keys must be strings")
    leading = [None] if task.takes_context else []
    bound = _simple_bind(task.func, leading, args, kwargs)
    if bound is None:
        signature = _signature(task.func)
        try:
            bound = signature.bind(*leading, *args, **kwargs).arguments
        except TypeError as exc:
            raise InvalidTaskArguments(f"arguments do not match {task.name}{signature}: {exc}") from None
    _check_types(task, bound)
    return Arguments(args, kwargs, args_json, kwargs_json)


# json.dumps(value, allow_nan=False) builds an encoder per call; one does for all.
_ENCODER = json.JSONEncoder(allow_nan=False)


def _simple_bind(func: Callable[..., Any], leading: list[Any], args: list[Any],
                 kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """``signature.bind(...).arguments`` for a function of plain parameters (no ``*args``,
    ``**kwargs``, positional- or keyword-only ones) when the call binds; None otherwise (the
    caller binds for real, and gets its error message). ``inspect``'s bind costs more than
    the rest of validating a small call."""
    simple = _simple_parameters(func)
    if simple is None:
        return None
    names, required = simple
    values = (*leading, *args)
    positional = len(values)
    if positional > len(names):
        return None
    bound: dict[str, Any] = {}  # in parameter order, as inspect's
    for index, name in enumerate(names):
        if index < positional:
            if name in kwargs:
                return None  # given twice
            bound[name] = values[index]
        elif name in kwargs:
            bound[name] = kwargs[name]
        elif index < required:
            return None  # missing
    if len(bound) - positional != len(kwargs):
        return None  # a keyword that names no parameter
    return bound


@functools.lru_cache(maxsize=1024)
def _simple_parameters(func: Callable[..., Any]) -> tuple[tuple[str, ...], int] | None:
    """The names of ``func``'s parameters and how many lead without a default, if all are
    plain (positional or keyword); None otherwise."""
    parameters = list(_signature(func).parameters.values())
    if any(p.kind is not p.POSITIONAL_OR_KEYWORD for p in parameters):
        return None
    required = sum(1 for p in parameters if p.default is p.empty)
    if any(p.default is p.empty for p in parameters[required:]):
        return None
    return tuple(p.name for p in parameters), required


# JSON types accepted for a simple annotation. bool is an int in Python but not in JSON.
_ACCEPTED: dict[Any, tuple[type, ...]] = {
    int: (int,), float: (int, float), str: (str,), bool: (bool,), list: (list,),
    dict: (dict,), type(None): (type(None),),
}


def _accepted_types(hint: Any) -> tuple[type, ...] | None:
    if hint in _ACCEPTED:
        return _ACCEPTED[hint]
    origin = typing.get_origin(hint)
    if origin in (list, dict):
        return (origin,)
    if origin in (typing.Union, types.UnionType):
        accepted: tuple[type, ...] = ()
        for member in typing.get_args(hint):
            member_types = _accepted_types(member)
            if member_types is None:
                return None  # a member we cannot check: accept anything
            accepted += member_types
        return accepted
    return None


# Signatures and annotations are read once per function: a bulk enqueue validates thousands of
# calls of one task, and reading them costs more than the check itself.
@functools.lru_cache(maxsize=1024)
def _signature(func: Callable[..., Any]) -> inspect.Signature:
    try:
        return inspect.signature(func, eval_str=True)  # readable in error messages
    except Exception:  # noqa: BLE001 - annotations that do not resolve
        return inspect.signature(func)


@functools.lru_cache(maxsize=1024)
def _checked_parameters(func: Callable[..., Any]) -> dict[str, tuple[type, ...]]:
    """The parameters with a simple annotation, and the JSON types each accepts."""
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # noqa: BLE001 - unresolvable annotations: nothing to check against
        return {}
    checked = {}
    for name, parameter in _signature(func).parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        accepted = _accepted_types(hints.get(name))
        if accepted is not None:
            checked[name] = accepted
    return checked


def _check_types(task: Task, bound: dict[str, Any]) -> None:
    """Check arguments against simple annotations (int, float, str, bool, list, dict, X | None)."""
    checked = _checked_parameters(task.func)
    if not checked:
        return
    for name, value in bound.items():
        if task.takes_context and name == "context":
            continue
        accepted = checked.get(name)
        if accepted is None:
            continue
        if isinstance(value, bool) and bool not in accepted:
            ok = False
        else:
            ok = isinstance(value, accepted)
        if not ok:
            expected = " or ".join(sorted({t.__name__ if t is not type(None) else "null" for t in accepted}))
            raise InvalidTaskArguments(
                f"argument {name!r} must be {expected}, got {type(value).__name__} {value!r:.50}"
            )

