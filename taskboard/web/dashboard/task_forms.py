"""The New run form: one field per parameter of the task's signature, and the enqueue options.

A parameter's annotation picks its field, the simple ones ``backend.arguments`` checks
(int, float, str, bool, list, dict and ``X | None``); anything else is a JSON field. A
parameter with a default may be left empty (the default applies: the argument is not sent);
an ``X | None`` parameter without one sends ``null`` when empty. ``*args`` and ``**kwargs``
become a JSON list and a JSON object. The task's own validation runs again on enqueue, so this
form is a convenience, never the check.
"""

from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass
from typing import Any

from django import forms
from django.tasks.base import TASK_MAX_PRIORITY, TASK_MIN_PRIORITY, Task
from django.utils import timezone

from taskboard.web.dashboard.forms import LOCAL_INPUT, json_input

KINDS: dict[Any, str] = {int: "A whole number", float: "A number", str: "Text", bool: "true or false",
                         list: "A JSON list", dict: "A JSON object"}
JSON_WIDGET = {"rows": 3, "spellcheck": "false", "class": "code-input"}


class JSONValueField(forms.CharField):
    """JSON text; ``kind`` (list or dict) narrows what it may hold."""

    def __init__(self, *, kind: type | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs=JSON_WIDGET))
        super().__init__(strip=True, **kwargs)
        self.kind = kind

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if text is None or text in self.empty_values:
            return None
        parsed = json_input(text)
        if self.kind is not None and not isinstance(parsed, self.kind):
            raise forms.ValidationError(f"Must be a JSON {'list' if self.kind is list else 'object'}.")
        return parsed


def _unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None``, ``(hint, False)`` otherwise."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        if len(members) < len(typing.get_args(hint)):
            return (members[0] if len(members) == 1 else hint), True
    return hint, False


def field_for(hint: Any, *, required: bool, label: str, help_text: str) -> forms.Field:
    options: dict[str, Any] = {"required": required, "label": label, "help_text": help_text}
    base = typing.get_origin(hint) or hint
    if hint is bool:
        choices = [("true", "true"), ("false", "false")]
        return forms.TypedChoiceField(choices=choices if required else [("", "—"), *choices],
                                      coerce=lambda v: v == "true", empty_value=None,
                                      error_messages={"invalid_choice": "Choose true or false."}, **options)
    if hint is int:
        return forms.IntegerField(**options)
    if hint is float:
        return forms.FloatField(**options)
    if hint is str:
        return forms.CharField(strip=False, empty_value=None, **options)
    if base in (list, dict):
        return JSONValueField(kind=base, **options)
    return JSONValueField(**options)


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: inspect._ParameterKind
    nullable: bool
    has_default: bool


def _hints(task: Task) -> dict[str, Any]:
    try:
        return typing.get_type_hints(task.func)
    except Exception:  # noqa: BLE001 - unresolvable annotations: every field is JSON
        return {}


class TaskArgumentsForm(forms.Form):
    """Fields named after the task's parameters (prefixed ``arg-`` in the HTML)."""

    prefix = "arg"

    def __init__(self, task: Task, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        hints = _hints(task)
        self.parameters: list[Parameter] = []
        parameters = list(inspect.signature(task.func).parameters.values())
        for parameter in parameters[1:] if task.takes_context else parameters:
            hint, nullable = _unwrap_optional(hints.get(parameter.name))
            has_default = parameter.default is not inspect.Parameter.empty
            if parameter.kind == parameter.VAR_POSITIONAL:
                field: forms.Field = JSONValueField(kind=list, required=False, label=f"*{parameter.name}",
                                                   help_text="More positional arguments, a JSON list.")
            elif parameter.kind == parameter.VAR_KEYWORD:
                field = JSONValueField(kind=dict, required=False, label=f"**{parameter.name}",
                                       help_text="More keyword arguments, a JSON object.")
            else:
                default = f"Default: {parameter.default!r}." if has_default else ""
                shown = KINDS.get(typing.get_origin(hint) or hint, "Any JSON value")
                if nullable:
                    shown += " or empty for null" if not has_default else ""
                field = field_for(hint, required=not (has_default or nullable), label=parameter.name,
                                  help_text=f"{shown}. {default}".strip())
            self.fields[parameter.name] = field
            self.parameters.append(Parameter(parameter.name, parameter.kind, nullable, has_default))

    def arguments(self) -> tuple[list[Any], dict[str, Any]] | None:
        """``(args, kwargs)`` from the cleaned fields (call after ``is_valid()``); None, with
        the error on the form, when they cannot be passed."""
        rest: list[Any] = next((self.cleaned_data.get(p.name) or [] for p in self.parameters
                                if p.kind == inspect.Parameter.VAR_POSITIONAL), [])
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for parameter in self.parameters:
            value = self.cleaned_data.get(parameter.name)
            if parameter.kind == inspect.Parameter.VAR_POSITIONAL:
                continue
            if parameter.kind == inspect.Parameter.VAR_KEYWORD:
                kwargs.update(value or {})
                continue
            # Before *args, a parameter is positional when *args has values (or always is).
            positional = parameter.kind == inspect.Parameter.POSITIONAL_ONLY or (
                bool(rest) and parameter.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD)
            if self[parameter.name].value() in (None, ""):
                if parameter.has_default and not positional:
                    continue  # left empty: the default applies
                if parameter.has_default:
                    self.add_error(parameter.name, "Give a value: positional arguments follow it.")
                    return None
                value = None  # an X | None parameter without a default
            if positional:
                args.append(value)
            else:
                kwargs[parameter.name] = value
        return args + rest, kwargs


class EnqueueOptionsForm(forms.Form):
    # The message does not repeat what was posted (it may carry bidi controls; the field
    # group Django renders cannot pass it through ``visible_controls``).
    queue = forms.ChoiceField(choices=[], error_messages={"invalid_choice": "Choose one of the configured queues."})
    priority = forms.IntegerField(min_value=TASK_MIN_PRIORITY, max_value=TASK_MAX_PRIORITY,
                                  help_text=f"{TASK_MIN_PRIORITY} to {TASK_MAX_PRIORITY}; higher runs first.")
    run_after = forms.DateTimeField(
        required=False, label="Run after", input_formats=[LOCAL_INPUT, "%Y-%m-%dT%H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format=LOCAL_INPUT))
    idempotency_key = forms.CharField(required=False, max_length=200, label="Idempotency key",
                                      help_text="Optional: a second run with the same key is not created.")

    def __init__(self, *args: Any, queues: list[str], with_priority: bool, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [(name, name) for name in queues]  # type: ignore[attr-defined]
        self.fields["run_after"].help_text = (f"In {timezone.get_current_timezone_name()}. Empty: as soon as a "
                                              "worker is free.")
        if not with_priority:
            del self.fields["priority"]
