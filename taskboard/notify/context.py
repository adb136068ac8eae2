"""What the alert rules share: the ``Observation`` a rule makes, the ``Context`` it judges in
(the moment, the settings, the firing alerts, and the rows read for it), and the helpers that
word a summary and link to the dashboard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

from django.conf import settings as django_settings
from django.db.models import QuerySet
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import urlencode

from taskboard.notify.config import AlertsConfig, RuleSettings
from taskboard.notify.reads import Fixed, Rows
from taskboard.readmodels.queue_heads import QueueHead, queue_heads


@dataclass
class Observation:
    rule: str
    key: str
    count: int
    summary: str | None  # None: keep the stored one (``describe`` makes it for a new alert)
    link: str
    # The count counts members of the group (dead letters, stuck runs): a group that grew is
    # worth another notification (after the group interval); a figure (queued runs) is not.
    grows: bool = False
    describe: Callable[[], str] | None = None

    def text(self) -> str:
        if self.summary is not None:
            return self.summary
        return self.describe() if self.describe else self.key


@dataclass
class Context:
    now: datetime
    config: AlertsConfig
    overrides: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    firing: set[tuple[str, str]] = field(default_factory=set)  # (rule, key) of the alerts firing now
    rows: dict[str, Rows] = field(default_factory=dict)  # the reads of ``READS``, by name, read already
    _rules: dict[tuple[str, str], RuleSettings] = field(default_factory=dict)

    def read(self, name: str) -> Rows:
        """The rows of the read ``name`` of ``READS`` (read now if the evaluator did not)."""
        if name not in self.rows:
            build = READS[name]
            self.rows[name] = list(build.build() if isinstance(build, Fixed) else build(self))
        return self.rows[name]

    def rule(self, name: str, scope: str = "") -> RuleSettings:
        found = self._rules.get((name, scope))
        if found is None:
            found = self._rules[(name, scope)] = self.config.rule(name, scope, self.overrides)
        return found

    @cached_property
    def queues(self) -> dict[str, QueueHead]:
        return queue_heads(self.read("queue_heads"))

    @cached_property
    def served_queues(self) -> set[str]:
        served: set[str] = set()
        for (queues,) in self.read("workers"):
            served.update(queues or [])
        return served


def duration(seconds: float) -> str:
    """``45 s``, ``7 min``, ``2 h 5 min``: coarse, so a summary changes rarely."""
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def link_to(name: str, *args: str, **query: str) -> str:
    """The dashboard path of the view ``name`` (``taskboard:name``), with ``query``."""
    path = _reverse(get_urlconf() or django_settings.ROOT_URLCONF, get_script_prefix(), name, args)
    return f"{path}?{urlencode(query)}" if query else path


@lru_cache(maxsize=256)
def _reverse(urlconf: str, prefix: str, name: str, args: tuple[str, ...]) -> str:
    # ~60 µs each, a few dozen an evaluation (a link per alert): once per URL configuration.
    return reverse(f"taskboard:{name}", urlconf=urlconf, args=args)


# The reads the rules always make, by name (``rules`` fills it): what ``Context.read`` builds.
READS: dict[str, Callable[[Context], QuerySet[Any, Any]] | Fixed] = {}
