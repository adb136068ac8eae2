"""``taskboard_status [--json]``: runs by status and task, open dead letters, queues, workers.

``--json`` prints one JSON object (``by_status``, ``by_task``, ``dead_letters_open`` as in
``GET /api/stats/``, plus ``queues`` and ``workers``) for scripts.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from taskboard.readmodels.queues import queue_stats
from taskboard.readmodels.representations import iso
from taskboard.readmodels.totals import api_stats
from taskboard.readmodels.workers import worker_rows


class Command(BaseCommand):
    help = "Show run counts by status and task, open dead letters, queues and workers seen."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        report = api_stats()
        report["queues"] = {
            queue: {"depth": q.depth, "oldest_wait_seconds": round(q.oldest_wait_seconds, 3)}
            for queue, q in queue_stats(now).items()
        }
        report["workers"] = [
            {**worker, **{key: iso(worker[key]) for key in ("started_at", "last_seen", "stopped_at")}}
            for worker in worker_rows(now)
        ]
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self._print(report)

    def _print(self, report: dict[str, Any]) -> None:
        out = self.stdout.write
        out("Runs by status:")
        for status, n in report["by_status"].items():
            out(f"  {status:<10} {n:>8}")
        out("Runs by task:")
        if not report["by_task"]:
            out("  (none)")
        for task, counts in report["by_task"].items():
            detail = ", ".join(f"{status} {n}" for status, n in counts.items())
            out(f"  {task}: {detail}")
        out(f"Open dead letters: {report['dead_letters_open']}")
        out("Queues (queued runs, oldest wait):")
        for queue, q in report["queues"].items():
            out(f"  {queue:<16} {q['depth']:>8}  {q['oldest_wait_seconds']:.1f}s")
        alive = sum(1 for w in report["workers"] if w["alive"])
        out(f"Workers seen: {len(report['workers'])} ({alive} alive)")
        for w in report["workers"]:
            state = "alive" if w["alive"] else ("stopped" if w["stopped_at"] else "stale")
            out(f"  {w['hostname']}:{w['pid']}  {state:<7} queues {','.join(w['queues'] or [])}  "
                f"last seen {w['last_seen']}")
