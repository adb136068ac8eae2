"""``taskboard_alerts list [--json] [--state firing|resolved] [--limit N]``,
``taskboard_alerts silence ID --minutes N [--reason TEXT]`` and ``taskboard_alerts evaluate``.

``list`` shows alerts newest first as ``GET /api/alerts/`` does (``--json``: that JSON).
``silence`` mutes an alert (and its group's recurrences) for 1…10080 minutes, audited as a
command. ``evaluate`` runs one evaluation now under the same lease as the workers' clocks
(e.g. from cron on a host without workers); it prints what it did, or that another host holds
the lease.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from taskboard import operations
from taskboard.management.commands._cli import OperatorCommand
from taskboard.operations.inputs import BadInput
from taskboard.readmodels import alerts

LIST_MAX = 500


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


class Command(OperatorCommand):
    help = "List alerts, silence one for N minutes, or evaluate the alert rules once now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["list", "silence", "evaluate"])
        parser.add_argument("id", nargs="?", type=_whole, help="silence: the alert's id (see list)")
        parser.add_argument("--json", action="store_true", help="list: print the API's JSON")
        parser.add_argument("--state", choices=alerts.state_choices(), help="list: only firing or resolved alerts")
        parser.add_argument("--limit", type=_whole, default=50, help=f"list: at most this many (1…{LIST_MAX})")
        parser.add_argument("--minutes", type=_whole, help="silence: for how long (1…10080)")
        parser.add_argument("--reason", default="", help="silence: why (shown with the alert)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action != "silence" and (options["id"] is not None or options["minutes"] is not None):
            raise CommandError(f"{action} takes no ID or --minutes (did you mean: silence ID --minutes N?)")
        if action == "list":
            self._list(options["state"], options["limit"], options["json"])
        elif action == "silence":
            self._silence(options["id"], options["minutes"], options["reason"])
        else:
            self._evaluate()

    def _list(self, state: str | None, limit: int, as_json: bool) -> None:
        if not 1 <= limit <= LIST_MAX:
            raise CommandError(f"--limit must be from 1 to {LIST_MAX}")
        rows = list(alerts.alerts(state).order_by("-started_at", "-id")[:limit])
        if as_json:
            self.stdout.write(json.dumps({"results": [alerts.alert_json(a) for a in rows]}, indent=2))
            return
        if not rows:
            self.stdout.write(f"no {state or ''} alerts".replace("  ", " "))
        for alert in rows:
            muted = f"  silenced until {alert.silenced_until:%Y-%m-%d %H:%M} UTC" if alert.is_silenced() else ""
            self.stdout.write(f"{alert.pk:>6}  {alert.state:<8} {alert.rule:<12} {alert.count:>6} "
                              f"{alerts.unit_of(alert):<18} {alert.summary}{muted}")

    def _silence(self, alert_id: int | None, minutes: int | None, reason: str) -> None:
        if alert_id is None:
            raise CommandError("silence needs the alert's ID (see: taskboard_alerts list)")
        if minutes is None:
            raise CommandError("silence needs --minutes N (1…10080)")
        try:
            alert = operations.silence_alert(alert_id, minutes=minutes, reason=reason)
        except BadInput as exc:
            raise CommandError(str(exc)) from None
        except operations.UnknownName as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"alert {alert.pk} silenced until {alert.silenced_until:%Y-%m-%d %H:%M:%S} UTC")

    def _evaluate(self) -> None:
        from taskboard.notify.evaluate import evaluate, release

        result = evaluate()
        release()  # a one-off: the workers' clocks take over at their next tick
        if not result.held:
            self.stdout.write("another host holds the evaluation lease; nothing done here")
            return
        self.stdout.write(f"evaluated: {result.observed} groups wrong, {result.opened} alerts opened, "
                          f"{result.resolved} resolved, {result.notified} notifications sent")
