"""``taskboard_enqueue NAME [--kwargs JSON] [--args JSON] [--queue Q] [--run-after ISO] [--priority N]
[--correlation-id ID]`` or ``taskboard_enqueue NAME --many FILE``.

Enqueues an allowlisted task by name through ``operations.enqueue`` and prints the run id
as the last line, so scripts can do ``id=$(manage.py taskboard_enqueue … | tail -1)``. With
``--many`` (see ``_many``) it enqueues one run per JSON line in one transaction and prints
how many as the last line.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.tasks.exceptions import InvalidTask

from taskboard import operations
from taskboard.management.commands._cli import OperatorCommand
from taskboard.management.commands._many import enqueue_lines
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


class Command(OperatorCommand):
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
        parser.add_argument("--correlation-id", help="Shared by the runs one request or run set off")
        parser.add_argument("--many", metavar="FILE",
                            help='One run per line of FILE (- for stdin), each {"args"?, "kwargs"?}; one transaction')

    # --args is stored as args_json: Django reserves the "args" option for positional arguments.
    def handle(self, *args: Any, **options: Any) -> None:
        if options["many"] is not None:
            self.handle_many(options)
            return
        kwargs = parse_json_option(options["kwargs"], "--kwargs", dict) or {}
        positional = parse_json_option(options["args_json"], "--args", list) or []
        try:
            run_after = inputs.parse_run_after(options["run_after"], "--run-after") if options["run_after"] else None
            for option in ("name", "queue", "idempotency_key", "correlation_id"):
                inputs.check_text(options[option], f"--{option.replace('_', '-')}")
            with transaction.atomic():
                run, created = operations.enqueue(
                    options["name"], positional, kwargs, queue=options["queue"], run_after=run_after,
                    priority=options["priority"], idempotency_key=options["idempotency_key"],
                    correlation_id=options["correlation_id"],
                )
        except (inputs.BadInput, InvalidTask) as exc:
            raise CommandError(str(exc)) from None
        verb = "enqueued" if created else "already enqueued (same idempotency key)"
        self.stdout.write(f"{verb} {run.task} on queue {run.queue}: {run.status}")
        self.stdout.write(str(run.id))

    def handle_many(self, options: dict[str, Any]) -> None:
        clashing = [f"--{name.replace('_json', '').replace('_', '-')}" for name in
                    ("kwargs", "args_json", "run_after", "idempotency_key") if options[name] is not None]
        if clashing:
            raise CommandError(f"--many takes the arguments from the file; drop {', '.join(clashing)}")
        try:
            for option in ("name", "queue", "correlation_id"):
                inputs.check_text(options[option], f"--{option.replace('_', '-')}")
        except inputs.BadInput as exc:
            raise CommandError(str(exc)) from None
        count = enqueue_lines(options["name"], options["many"], options)
        self.stdout.write(f"enqueued {count} runs of {options['name']}")
        self.stdout.write(str(count))
