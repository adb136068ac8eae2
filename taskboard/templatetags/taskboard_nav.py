"""The dashboard's main navigation and its keyboard shortcuts: one list for both.

``base.html`` renders the nav links and the shortcut help from ``nav_items``, and
``taskboard.js`` binds each link's ``data-shortcut`` ("g o": press g, then o), so a page, its
link and its shortcut cannot drift apart. A page whose URL does not resolve (not installed)
is left out, and so is a page the user may not open (New run needs the enqueue permission):
no link, no shortcut.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from taskboard import operations
from taskboard.readmodels import alerts

register = template.Library()


@dataclass(frozen=True)
class NavItem:
    key: str  # what ``nav`` is set to on the page, for aria-current
    label: str
    url: str
    shortcut: str  # "" for none
    badge: int = 0  # a count shown beside the label (firing alerts); 0 for none

    @property
    def keys(self) -> list[str]:
        return self.shortcut.split()


# (nav key, label, URL name, shortcut, the permission the page needs beyond viewing or "")
NAV: tuple[tuple[str, str, str, str, str], ...] = (
    ("overview", "Overview", "taskboard:overview", "g o", ""),
    ("runs", "Runs", "taskboard:runs", "g r", ""),
    ("new-run", "New run", "taskboard:run-new", "g n", operations.PERM_ENQUEUE),
    ("tasks", "Tasks", "taskboard:tasks", "g t", ""),
    ("failures", "Failures", "taskboard:failures", "g f", ""),
    ("dead-letters", "Dead letters", "taskboard:dead-letters", "g d", ""),
    ("workers", "Workers", "taskboard:workers", "g w", ""),
    ("flow", "Flow", "taskboard:flow", "g l", ""),
    ("alerts", "Alerts", "taskboard:alerts", "g e", ""),
    ("batches", "Batches", "taskboard:batches", "g b", ""),
    ("schedules", "Schedules", "taskboard:schedules", "g s", ""),
    ("audit", "Audit", "taskboard:audit", "g u", ""),
    ("api", "API docs", "taskboard-api:openapi-view", "g a", ""),
    ("admin", "Admin", "admin:index", "", ""),
)

# Counts shown on a link (one small indexed query each): firing alerts on Alerts.
BADGES: dict[str, Callable[[], int]] = {"alerts": alerts.firing_count}

# Shortcuts that are not pages; taskboard.js implements them.
ACTION_SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("/", "Focus the search or filter field"),
    ("p", "Pause or resume live updates"),
    ("?", "Show these shortcuts"),
)


def _resolve(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@register.simple_tag(takes_context=True)
def nav_items(context: dict[str, Any]) -> list[NavItem]:
    user = context.get("user")
    items = []
    for key, label, name, shortcut, perm in NAV:
        if perm and (user is None or not user.has_perm(perm)):
            continue
        url = _resolve(name)
        if url is not None:
            items.append(NavItem(key, label, url, shortcut, BADGES[key]() if key in BADGES else 0))
    return items


@register.simple_tag
def action_shortcuts() -> tuple[tuple[str, str], ...]:
    return ACTION_SHORTCUTS
