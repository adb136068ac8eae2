"""Dashboard forms: list filters (GET) and the edited-arguments replay (POST).

Filters never fail a page: an invalid value is reported next to its field and ignored.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from taskboard.models import DeadLetter, Status, TaskRun

PERIODS = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
# Text search cannot use an index (it looks inside arguments and error messages), so it scans
# at most this many of the newest runs that match the other filters (which all are indexed).
SEARCH_SCAN_LIMIT = 5_000

def parse_ids[T](values: Iterable[str], kind: Callable[[str], T], limit: int) -> list[T] | None:
    """Validated ids of a bulk selection, or None when one is malformed or there are too many."""
    ids: list[T] = []
    for value in values:
        try:
            ids.append(kind(value))
        except (TypeError, ValueError):
            return None
        if len(ids) > limit:
            return None
    return list(dict.fromkeys(ids))


def as_uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


class FilterForm(forms.Form):
    def values(self) -> dict[str, Any]:
        """The valid, non-empty filters (invalid ones are ignored, not fatal)."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v not in ("", None)}

    @property
    def active(self) -> bool:
        """Whether the list is narrowed (state and ordering do not count)."""
        return any(key not in ("state", "sort") for key in self.values())


class RunFilterForm(FilterForm):
    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    task = forms.CharField(required=False, max_length=255)
    queue = forms.CharField(required=False, max_length=64)
    period = forms.ChoiceField(
        choices=[("", "Any time"), *((k, label) for k, (label, _) in PERIODS.items())], required=False
    )
    q = forms.CharField(required=False, max_length=200, label="Search")

    def __init__(self, *args: Any, tasks: Sequence[str] = (), queues: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_choices, self.queue_choices = list(tasks), list(queues)
        self.search_window: str | None = None

    @property
    def queue_options(self) -> list[tuple[str, str]]:
        return [("", "Any queue"), *((name, name) for name in self.queue_choices)]

    def filter(self, qs: QuerySet[TaskRun]) -> QuerySet[TaskRun]:
        values = self.values()
        if status := values.get("status"):
            qs = qs.filter(status=status)
        if task := values.get("task"):
            qs = qs.filter(task=task)
        if queue := values.get("queue"):
            qs = qs.filter(queue=queue)
        if period := values.get("period"):
            qs = qs.filter(enqueued_at__gte=timezone.now() - PERIODS[period][1])
        if text := values.get("q"):
            if (run_id := as_uuid(text)) is not None:
                return qs.filter(pk=run_id)
            # A bounded window, not pagination: one index seek to the N-th newest run.
            window = qs.order_by("-enqueued_at", "-id").values_list("enqueued_at", flat=True)
            oldest = next(iter(window[SEARCH_SCAN_LIMIT - 1:SEARCH_SCAN_LIMIT]), None)
            if oldest is not None:
                qs = qs.filter(enqueued_at__gte=oldest)
                self.search_window = f"the newest {SEARCH_SCAN_LIMIT:,} runs"
            qs = qs.filter(Q(last_error__icontains=text) | Q(kwargs__icontains=text) | Q(args__icontains=text))
        return qs


class DeadLetterFilterForm(FilterForm):
    state = forms.ChoiceField(choices=[("open", "Open"), ("resolved", "Resolved")], required=False)
    task = forms.CharField(required=False, max_length=255)
    q = forms.CharField(required=False, max_length=200, label="Search")

    def __init__(self, *args: Any, tasks: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_choices = list(tasks)

    @property
    def resolved(self) -> bool:
        return self.values().get("state") == "resolved"

    def condition(self) -> Q:
        """The filter as a Q, so bulk actions can apply exactly what the list shows."""
        values = self.values()
        condition = Q()
        if task := values.get("task"):
            condition &= Q(task=task)
        if text := values.get("q"):
            if (run_id := as_uuid(text)) is not None:
                condition &= Q(run_id=run_id)
            else:
                condition &= Q(reason__icontains=text) | Q(run__last_error__icontains=text)
        return condition

    def filter(self, qs: QuerySet[DeadLetter]) -> QuerySet[DeadLetter]:
        return qs.filter(self.condition())


class FailureFilterForm(FilterForm):
    task = forms.CharField(required=False, max_length=255)
    sort = forms.ChoiceField(choices=[("recent", "Most recent"), ("frequent", "Most frequent (24 h)")],
                             required=False)

    def __init__(self, *args: Any, tasks: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_choices = list(tasks)


class ReplayArgumentsForm(forms.Form):
    kwargs = forms.CharField(
        label="Keyword arguments (JSON object)",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code"}),
    )

    def clean_kwargs(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["kwargs"])
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
            ) from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Keyword arguments must be a JSON object, e.g. {"message": "hi"}.')
        return value

    @classmethod
    def for_run(cls, run: TaskRun) -> ReplayArgumentsForm:
        return cls(initial={"kwargs": json.dumps(run.kwargs, indent=2, ensure_ascii=False)})

