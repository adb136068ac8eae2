"""``taskboard_enqueue NAME [--kwargs JSON] [--args JSON] [--queue Q] [--run-after ISO] [--priority N]``.

Enqueues an allowlisted task by name through ``operations.enqueue`` and prints the run id
as the last line, so scripts can do ``id=$(manage.py taskboard_enqueue … | tail -1)``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.tasks.exceptions import InvalidTask

from taskboard import operations
from taskboard.operations import inputs


def parse_json_option(raw: str | None, option: str, expected: type) -> Any:
    if raw is None:
        return None
    try:
        value = inputs.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CommandError(f"{option} is not valid JSON: {exc}") from None
    if not isinstance(value, expected):
        kind = "object" if expected is dict else "list"
        raise CommandError(f"{option} must be a JSON {kind}, got {type(value).__name__}")
    try:
        inputs.check_json_value(value, option)
    except inputs.BadInput as exc:
        raise CommandError(str(exc)) from None
    return value


class Command(BaseCommand):
    help = "Enqueue a task by name; prints the run id as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Dotted task name, e.g. taskboard.demo.sleep")
        parser.add_argument("--kwargs", help='Keyword arguments as a JSON object, e.g. \'{"seconds": 2}\'')
        parser.add_argument("--args", dest="args_json", help="Positional arguments as a JSON list")
        parser.add_argument("--queue", help="Queue name (default: the task's queue)")
        parser.add_argument("--run-after", help="Start no earlier than this ISO 8601 time with offset")
        parser.add_argument("--priority", type=int,
                            help="-100 to 100; higher starts first when the queue has a backlog")
        parser.add_argument("--idempotency-key", help="Return the existing run if this key was used before")

    # --args is stored as args_json: Django reserves the "args" option for positional arguments.
    def handle(self, *args: Any, **options: Any) -> None:
        kwargs = parse_json_option(options["kwargs"], "--kwargs", dict) or {}
        positional = parse_json_option(options["args_json"], "--args", list) or []
        try:
            run_after = inputs.parse_run_after(options["run_after"], "--run-after") if options["run_after"] else None
            for option in ("name", "queue", "idempotency_key"):
                inputs.check_text(options[option], f"--{option.replace('_', '-')}")
            with transaction.atomic():
                run, created = operations.enqueue(
                    options["name"], positional, kwargs, queue=options["queue"], run_after=run_after,
                    priority=options["priority"], idempotency_key=options["idempotency_key"],
                )
        except (inputs.BadInput, InvalidTask) as exc:
            raise CommandError(str(exc)) from None
        verb = "enqueued" if created else "already enqueued (same idempotency key)"
        self.stdout.write(f"{verb} {run.task} on queue {run.queue}: {run.status}")
        self.stdout.write(str(run.id))
