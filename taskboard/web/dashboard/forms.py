"""Dashboard forms: list filters (GET) and the edited-arguments replay (POST).

A filter with an invalid value (``?status=bogus``, a ``to`` before ``from``, an unknown
``status:`` in the search) is never ignored: the list shows nothing, the field says why, and
the page answers 400. Listing everything instead would look like an answer to a question
the operator did not ask. Every filter is a GET parameter, so any list view can be bookmarked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from taskboard.backend.jsonvalues import MAX_JSON_DEPTH
from taskboard.models import DeadLetter, Status, TaskRun
from taskboard.operations.inputs import BadInput, check_json_value, loads
from taskboard.readmodels.failures import FAILURE_WINDOW
from taskboard.readmodels.runs import correlated
from taskboard.web.dashboard.search import (
    HELP,
    Search,
    SearchError,
    id_condition,
    indexed_run_condition,
    parse_search,
    scanned_run_condition,
)

PERIODS = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
# Text, argument and worker search cannot use an index, so it scans at most this many of the
# newest runs that match the other filters (which all are indexed).
SEARCH_SCAN_LIMIT = 5_000
# What a datetime-local input sends and shows; ISO 8601 with an offset is accepted too.
LOCAL_INPUT = "%Y-%m-%dT%H:%M:%S"
NOTHING = Q(pk__in=[])


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


class FilterForm(forms.Form):
    """A list's filters. Subclasses with a ``q`` field get it parsed as a ``Search``."""

    def __init__(self, *args: Any, tasks: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.task_choices = list(tasks)
        self.search = Search()

    def values(self) -> dict[str, Any]:
        """The valid, non-empty filters."""
        self.is_valid()
        return {k: v for k, v in getattr(self, "cleaned_data", {}).items() if v not in ("", None)}

    @property
    def invalid(self) -> bool:
        return self.is_bound and not self.is_valid()

    @property
    def messages(self) -> list[str]:
        """Every error, each naming its field ("Status: Select a valid choice…")."""
        if not self.invalid:
            return []
        return [f"{self[name].label}: {error}" if name in self.fields else str(error)
                for name, errors in self.errors.items() for error in errors]

    @property
    def active(self) -> bool:
        """Whether the list is narrowed (state and ordering do not count)."""
        return self.invalid or any(key not in ("state", "sort") for key in self.values())

    def clean_q(self) -> str:
        text: str = self.cleaned_data.get("q", "")
        try:
            self.search = parse_search(text, self.task_choices)
        except SearchError as exc:
            raise forms.ValidationError(str(exc)) from None
        return text


class RangeFilterForm(FilterForm):
    """Adds ``from`` and ``to`` (GET names; Python keywords, hence added here)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("from", "to"):
            self.fields[name] = forms.DateTimeField(required=False, label=name.capitalize(),
                                                    input_formats=[LOCAL_INPUT, "%Y-%m-%dT%H:%M"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("from"), cleaned.get("to")
        if since and until and since >= until:
            self.add_error("to", "must be later than From.")
        return cleaned

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        values = self.values()
        return values.get("from"), values.get("to")

    def local_input(self, name: str) -> str:
        """The value a datetime-local input shows: the parsed time in the current time zone,
        or what was typed when it does not parse (so the error sits next to it)."""
        value = self.values().get(name)
        if isinstance(value, datetime):
            return timezone.localtime(value).strftime(LOCAL_INPUT)
        return str(self.data.get(name, "")) if self.is_bound else ""

    @property
    def from_input(self) -> str:
        return self.local_input("from")

    @property
    def to_input(self) -> str:
        return self.local_input("to")


class RunFilterForm(RangeFilterForm):
    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    task = forms.CharField(required=False, max_length=255)
    queue = forms.CharField(required=False, max_length=64)
    period = forms.ChoiceField(
        choices=[("", "Any time"), *((k, label) for k, (label, _) in PERIODS.items())], required=False,
        label="Enqueued",
    )
    q = forms.CharField(required=False, max_length=200, label="Search", help_text=HELP)
    # The runs that carry this correlation id, and the run whose id it is (readmodels.runs).
    correlation = forms.CharField(required=False, max_length=100, label="Correlation id")
    batch = forms.UUIDField(required=False, label="Batch")

    def __init__(self, *args: Any, queues: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue_choices = list(queues)
        self.search_window: str | None = None

    @property
    def queue_options(self) -> list[tuple[str, str]]:
        return [("", "Any queue"), *((name, name) for name in self.queue_choices)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("period") and (cleaned.get("from") or cleaned.get("to")):
            self.add_error("period", "choose a period or a From/To range, not both.")
        return cleaned

    def filter(self, qs: QuerySet[TaskRun]) -> QuerySet[TaskRun]:
        if self.invalid:
            return qs.none()
        values = self.values()
        if status := values.get("status"):
            qs = qs.filter(status=status)
        if task := values.get("task"):
            qs = qs.filter(task=task)
        if queue := values.get("queue"):
            qs = qs.filter(queue=queue)
        if correlation := values.get("correlation"):
            qs = qs.filter(correlated(correlation))
        if batch := values.get("batch"):
            qs = qs.filter(batch_id=batch)
        if period := values.get("period"):
            qs = qs.filter(enqueued_at__gte=timezone.now() - PERIODS[period][1])
        since, until = self.time_range()
        if since:
            qs = qs.filter(enqueued_at__gte=since)
        if until:
            qs = qs.filter(enqueued_at__lt=until)
        search = self.search
        qs = qs.filter(indexed_run_condition(search))
        text = search.text
        if search.maybe_id is not None and qs.filter(id_condition(search.maybe_id)).exists():
            qs, text = qs.filter(id_condition(search.maybe_id)), ""
        scanned = scanned_run_condition(search, text)
        if scanned is None:
            return qs
        # A bounded window, not pagination: one index seek to the N-th newest run.
        window = qs.order_by("-enqueued_at", "-id").values_list("enqueued_at", flat=True)
        oldest = next(iter(window[SEARCH_SCAN_LIMIT - 1:SEARCH_SCAN_LIMIT]), None)
        if oldest is not None:
            qs = qs.filter(enqueued_at__gte=oldest)
            self.search_window = f"the newest {SEARCH_SCAN_LIMIT:,} runs"
        return qs.filter(scanned)


class DeadLetterFilterForm(FilterForm):
    state = forms.ChoiceField(choices=[("open", "Open"), ("resolved", "Resolved")], required=False)
    task = forms.CharField(required=False, max_length=255)
    q = forms.CharField(required=False, max_length=200, label="Search")

    @property
    def resolved(self) -> bool:
        return self.values().get("state") == "resolved"

    def clean_q(self) -> str:
        text = super().clean_q()
        if unsupported := [name for name in self.search.qualifiers if name not in ("task", "queue")]:
            raise forms.ValidationError(f"{unsupported[0]}: is not available for dead letters; "
                                        "search a run id, task:, queue: or text")
        return text

    def condition(self) -> Q:
        """The filter as a Q, so bulk actions apply exactly what the list shows (nothing
        when the filter is invalid)."""
        if self.invalid:
            return NOTHING
        values, search = self.values(), self.search
        condition = Q()
        if task := values.get("task"):
            condition &= Q(task=task)
        if search.tasks:
            condition &= Q(task__in=search.tasks)
        if search.queues:
            condition &= Q(run__queue__in=search.queues)
        if (prefix := search.run_id) is None and search.maybe_id is not None:
            # A lone id-like word is a run id when some dead letter has it, else text.
            found = DeadLetter.objects.filter(id_condition(search.maybe_id, "run_id")).exists()
            prefix = search.maybe_id if found else None
        if prefix is not None:
            return condition & id_condition(prefix, "run_id")
        if text := search.text:
            condition &= Q(reason__icontains=text) | Q(run__last_error__icontains=text)
        return condition

    def filter(self, qs: QuerySet[DeadLetter]) -> QuerySet[DeadLetter]:
        return qs.filter(self.condition())


class FailureFilterForm(RangeFilterForm):
    task = forms.CharField(required=False, max_length=255)
    sort = forms.ChoiceField(choices=[("recent", "Most recent"), ("frequent", "Most frequent (24 h or range)")],
                             required=False, label="Order")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("from"), cleaned.get("to")
        if since and not self.has_error("to") and (until or timezone.now()) - since > FAILURE_WINDOW:
            days = FAILURE_WINDOW.days
            self.add_error("from", f"failures are grouped over at most {days} days: choose a From "
                                   f"within {days} days of {'To' if until else 'now'}.")
        return cleaned

    @property
    def ranged(self) -> bool:
        return any(self.time_range())


class ReplayArgumentsForm(forms.Form):
    kwargs = forms.CharField(
        label="Keyword arguments (JSON object)",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "class": "code"}),
    )

    def clean_kwargs(self) -> dict[str, Any]:
        value = json_input(self.cleaned_data["kwargs"])
        if not isinstance(value, dict):
            raise forms.ValidationError('Keyword arguments must be a JSON object, e.g. {"message": "hi"}.')
        return value

    @classmethod
    def for_run(cls, run: TaskRun) -> ReplayArgumentsForm:
        return cls(initial={"kwargs": json.dumps(run.kwargs, indent=2, ensure_ascii=False)})


def json_input(text: str) -> Any:
    """JSON an operator typed, or a ``ValidationError`` that says what is wrong with it.

    ``json.loads`` recurses per nesting level, so text nested deeper than Python's recursion
    limit raises ``RecursionError``; that and anything deeper than the databases store are
    the same refusal the API and the CLI give.
    """
    too_deep = f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep."
    try:
        value = loads(text)
    except RecursionError:
        raise forms.ValidationError(too_deep) from None
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    except ValueError as exc:
        raise forms.ValidationError(f"Not valid JSON: {exc}.") from None
    try:
        check_json_value(value, "the value")
    except BadInput as exc:
        message = too_deep if "nested" in str(exc) else f"{str(exc)[:1].upper()}{str(exc)[1:]}."
        raise forms.ValidationError(message) from None
    return value
