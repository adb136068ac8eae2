from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from taskboard.conf import configured_queues
from taskboard.service.supervisor import Supervisor


class Command(BaseCommand):
    help = "Run django-q2 clusters and the taskboard dispatcher until SIGTERM/SIGINT."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue", action="append", dest="queues",
                            help="Queue to serve (repeatable; default: all TASKBOARD_QUEUES).")
        parser.add_argument("--workers", type=int, default=None,
                            help="Worker processes per queue (default: TASKBOARD_WORKERS).")
        parser.add_argument("--grace", type=float, default=10.0,
                            help="Seconds running tasks get to finish on shutdown.")

    def handle(self, *args: Any, **options: Any) -> None:
        configured = configured_queues()
        queues = options["queues"] or configured
        unknown = sorted(set(queues) - set(configured))
        if unknown:
            raise CommandError(f"unknown queue(s) {', '.join(unknown)}; configured: {', '.join(configured)}")
        default_workers = cast(int, settings.Q_CLUSTER["workers"])  # settings.py builds an int
        workers: int = options["workers"] or default_workers
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        if options["grace"] < 0:
            raise CommandError("--grace must be >= 0")
        Supervisor(list(dict.fromkeys(queues)), workers, options["grace"]).run()
