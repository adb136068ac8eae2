"""``taskboard_audit [--run ID] [--actor NAME] [--verb VERB] [--via VIA] [--limit N] [--cursor C] [--json]``:
the audit log of operator actions, newest first.

One line per action: when, who (via what), the verb, what it named (or the filter that chose
it) and how many, and the reason. ``--json`` prints the page as ``GET /api/audit/`` does
(``{"results": [...], "next": cursor-or-null}``; pass ``next`` back with ``--cursor``). The
queries are ``readmodels.audit``'s, shared with the API and the dashboard's Audit page.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from taskboard.models import Via
from taskboard.operations.inputs import BadInput, check_text
from taskboard.readmodels import audit
from taskboard.readmodels.paging import Cursor, InvalidCursor, int_pk, keyset_page
from taskboard.readmodels.representations import iso

MAX_LIMIT = 500


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"--limit {text[:20]!r} is not a number") from None
    if not 1 <= value <= MAX_LIMIT:
        raise CommandError(f"--limit must be from 1 to {MAX_LIMIT}")
    return value


class Command(BaseCommand):
    help = "Show the audit log of operator actions (newest first), optionally for one run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--run", metavar="ID", help="Only actions that touched this run (its UUID)")
        parser.add_argument("--actor", help="Only actions of this user (exact)")
        parser.add_argument("--verb", help="Only this verb, e.g. run.cancel or dead_letter.replay")
        parser.add_argument("--via", choices=[via.value for via in Via], help="Only actions through this")
        parser.add_argument("--limit", default="50", help=f"At most this many (1 to {MAX_LIMIT}; default 50)")
        parser.add_argument("--cursor", help="Continue after a page: the 'next' of --json")
        parser.add_argument("--json", action="store_true", help="Print the page as GET /api/audit/ does")

    def handle(self, *args: Any, **options: Any) -> None:
        limit = _limit(options["limit"])
        for name in ("actor", "verb"):
            try:
                check_text(options[name], f"--{name}")
            except BadInput as exc:
                raise CommandError(str(exc)) from None
        run = None
        if options["run"] is not None:
            try:
                run = uuid.UUID(options["run"])
            except ValueError:
                raise CommandError(f"--run {options['run'][:64]!r} is not a run id (a UUID)") from None
        try:
            after = Cursor.parse(options["cursor"], int_pk) if options["cursor"] else None
        except InvalidCursor as exc:
            raise CommandError(f"--cursor: {exc}") from None
        qs = audit.events(run=run, actor=options["actor"], verb=options["verb"], via=options["via"])
        page = keyset_page(qs, "at", after=after, size=limit)
        if options["json"]:
            body = {"results": [audit.event_to_dict(event) for event in page.rows], "next": page.next}
            self.stdout.write(json.dumps(body, indent=2))
            return
        if not page.rows:
            self.stdout.write("no operator actions" + (" match" if any(
                options[k] is not None for k in ("run", "actor", "verb", "via")) else " recorded yet"))
        for event in page.rows:
            reason = f"  — {event.reason}" if event.reason else ""
            self.stdout.write(f"{iso(event.at)}  {event.actor} ({event.via})  {audit.summary(event)}"
                              f"  ×{event.count}{reason}")
        if page.next:
            self.stdout.write(f"more: --cursor {page.next}")
