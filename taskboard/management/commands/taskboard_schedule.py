"""``taskboard_schedule list [--json] | add NAME TASK (--cron EXPR | --every SECONDS) [--kwargs JSON]
[--args JSON] [--queue Q] [--timezone TZ] [--priority N] [--misfire skip|run_once]
[--overlap allow|skip] | pause NAME | resume NAME | run NAME | remove NAME``.

Each verb is the one in ``operations.schedules`` (audited as coming from the CLI). ``run``
prints the new run id as the last line (``id=$(… run nightly | tail -1)``); ``list --json``
prints exactly what ``GET /api/schedules/`` answers. Bad input is a one-line error and a
non-zero exit status, with nothing written.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.tasks.exceptions import InvalidTask

from taskboard import operations
from taskboard.exceptions import OperationError
from taskboard.management.commands._cli import OperatorCommand
from taskboard.management.commands.taskboard_enqueue import parse_json_option
from taskboard.operations import inputs
from taskboard.readmodels import schedules as schedule_views


def _line(row: dict[str, Any]) -> str:
    last = row["last_run"]
    state = "paused" if row["paused"] else "active"
    return (f"{row['name']:<24} {state:<6} {row['task']:<36} {row['description']}; "
            f"next {row['next_run_at'] or '—'}; last run {last['status'] if last else '—'}")


class Command(OperatorCommand):
    help = "List schedules, or add, pause, resume, run now or remove one."

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = parser.add_subparsers(dest="action", required=True, metavar="list|add|pause|resume|run|remove")
        listing = verbs.add_parser("list", help="show every schedule")
        listing.add_argument("--json", action="store_true", help="print the API's JSON")
        add = verbs.add_parser("add", help="add a schedule")
        add.add_argument("name", help="letters, digits, '.', '_' and '-' (at most 100)")
        add.add_argument("task", help="dotted task name, e.g. taskboard.demo.noop")
        timing = add.add_mutually_exclusive_group(required=True)
        timing.add_argument("--cron", help="5 fields, e.g. '*/15 * * * *' (read in --timezone)")
        timing.add_argument("--every", type=int, metavar="SECONDS", help="seconds between runs (at least 1)")
        add.add_argument("--kwargs", help="keyword arguments as a JSON object")
        add.add_argument("--args", dest="args_json", help="positional arguments as a JSON list")
        add.add_argument("--queue", help="queue (default: the task's)")
        add.add_argument("--timezone", help="IANA time zone of the cron expression (default UTC)")
        add.add_argument("--priority", type=int, help="-100 to 100")
        add.add_argument("--misfire", choices=["skip", "run_once"], help="after downtime (default skip)")
        add.add_argument("--overlap", choices=["allow", "skip"], help="while the last run is open (default allow)")
        for verb, text in (("pause", "stop firing"), ("resume", "fire again"), ("run", "run now; prints the run id"),
                           ("remove", "delete the schedule (its runs stay)")):
            verbs.add_parser(verb, help=text).add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            rows = schedule_views.schedules_json()
            if options["json"]:
                self.stdout.write(json.dumps({"results": rows}, indent=2))
            elif not rows:
                self.stdout.write("no schedules")
            for row in [] if options["json"] else rows:
                self.stdout.write(_line(row))
            return
        try:
            inputs.check_text(options["name"], "NAME")
            with transaction.atomic():
                self._apply(action, options)
        except (InvalidTask, OperationError, ObjectDoesNotExist, inputs.BadInput) as exc:
            raise CommandError(str(exc)) from None

    def _apply(self, action: str, options: dict[str, Any]) -> None:
        name = options["name"]
        if action == "add":
            for option in ("task", "cron", "queue", "timezone"):
                inputs.check_text(options[option], f"--{option}")
            schedule = operations.add_schedule(
                name, options["task"], cron=options["cron"], every=options["every"],
                kwargs=parse_json_option(options["kwargs"], "--kwargs", dict),
                args=parse_json_option(options["args_json"], "--args", list), queue=options["queue"],
                timezone=options["timezone"], priority=options["priority"], misfire=options["misfire"],
                overlap=options["overlap"])
            self.stdout.write(f"schedule {schedule.name} added: {schedule_views.describe(schedule)}; "
                              f"first run at {schedule.next_run_at.isoformat() if schedule.next_run_at else '—'}")
        elif action == "pause":
            operations.pause_schedule(name)
            self.stdout.write(f"schedule {name} paused")
        elif action == "resume":
            schedule = operations.resume_schedule(name)
            self.stdout.write(f"schedule {name} resumed; next run at "
                              f"{schedule.next_run_at.isoformat() if schedule.next_run_at else '—'}")
        elif action == "run":
            run = operations.run_schedule(name)
            self.stdout.write(f"schedule {name}: run of {run.task} enqueued on queue {run.queue}")
            self.stdout.write(str(run.pk))
        else:
            operations.remove_schedule(name)
            self.stdout.write(f"schedule {name} removed")
