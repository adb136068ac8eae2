"""``taskboard_breaker list [--json] | open NAME | close NAME [--reason TEXT]``.

Forcing a breaker open holds its runs until it is closed by hand; closing resets it and
releases them. Every forced transition is recorded with who ("system" from here) and why.
``list`` shows every configured breaker as ``GET /api/breakers/`` does.
"""

from __future__ import annotations

from typing import Any, ClassVar

from taskboard import operations
from taskboard.management.commands._flow import FlowCommand
from taskboard.readmodels import flow


class Command(FlowCommand):
    help = "List circuit breakers, or force one open or closed (close releases its held runs)."
    noun = "breaker"
    verbs: ClassVar = {"open": (operations.open_breaker, "opened"), "close": (operations.close_breaker, "closed")}

    def rows(self) -> list[dict[str, Any]]:
        return [flow.breaker_json(row) for row in flow.breaker_rows()]

    def line(self, row: dict[str, Any]) -> str:
        retry = f"  probe at {row['retry_at']}" if row["retry_at"] else ""
        return (f"{row['name']:<20} {row['state']:<9} {row['failures']}/{row['calls']} failed "
                f"({row['failure_rate']:.1f} %)  held {row['held']}{retry}")
