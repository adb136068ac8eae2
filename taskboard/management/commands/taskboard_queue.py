"""``taskboard_queue list [--json] | pause NAME | resume NAME [--reason TEXT]``.

Pausing a queue holds its runs (``held``, reason ``paused``): running runs finish, nothing new
starts; resuming releases them. ``list`` shows every configured queue as ``GET /api/queues/``
does (``--json`` prints exactly that).
"""

from __future__ import annotations

from typing import Any, ClassVar

from taskboard import operations
from taskboard.management.commands._flow import FlowCommand
from taskboard.readmodels import flow


class Command(FlowCommand):
    help = "List queues, or pause/resume one (running runs finish; nothing new starts while paused)."
    noun = "queue"
    verbs: ClassVar = {"pause": (operations.pause_queue, "paused"), "resume": (operations.resume_queue, "resumed")}

    def rows(self) -> list[dict[str, Any]]:
        return [flow.queue_json(row) for row in flow.queue_rows()]

    def line(self, row: dict[str, Any]) -> str:
        wait = row["oldest_wait_seconds"]
        return (f"{row['name']:<20} {'paused' if row['paused'] else 'active':<7} waiting {row['waiting']:>6}  "
                f"held {row['held']:>6}  running {row['running']:>4}  "
                f"oldest {f'{wait:.0f}s' if wait is not None else '—'}")
