"""``make run``: the web server (gunicorn) and the workers together, stopped by one Ctrl-C."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from taskboard.conf import conf
from taskboard.management.commands._gunicorn import gunicorn_command
from taskboard.models import TaskRun
from taskboard.service import processes

# A Unix socket path is limited to 108 bytes (with its terminating NUL).
MAX_SOCKET_PATH = 100


def control_socket(port: int) -> str | None:
    """gunicorn's control socket for the server on ``port``, under VAR_DIR (None: too long)."""
    path = str(Path(settings.VAR_DIR) / f"gunicorn-{port}.ctl")
    return path if len(path.encode()) <= MAX_SOCKET_PATH else None


class Command(BaseCommand):
    help = "Serve the dashboard with gunicorn and run taskboard_worker beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=None,
                            help="Port on 127.0.0.1 (default: $PORT or 8000).")
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        if port is None:
            raw = os.environ.get("PORT", "8000")
            if not raw.isdigit():
                raise CommandError(f"PORT={raw!r} is not a port number")
            port = int(raw)
        if not 0 < port < 65536:
            raise CommandError(f"port {port} is out of range")
        if conf.DEMO and not TaskRun.objects.exists():
            from taskboard.demo import seed

            self.stdout.write(f"empty database: enqueued {seed()} demo runs (TASKBOARD_DEMO=0 turns this off)")

        python = sys.executable
        # Each child gets its own process group so a stop reaches everything it started.
        children = [
            processes.start(
                gunicorn_command(python, f"{options['host']}:{port}", workers=options["web_workers"],
                                 control_socket=control_socket(port), access_log=True),
                name="gunicorn", cwd=settings.BASE_DIR, stdin=None,
            ),
            processes.start([python, "manage.py", "taskboard_worker"], name="taskboard_worker",
                            cwd=settings.BASE_DIR, stdin=None),
        ]
        self.stdout.write(f"taskboard at http://{options['host']}:{port}/ (Ctrl-C stops everything)")
        stop: dict[str, int | None] = {"signal": None}

        def request_stop(signum: int, frame: Any) -> None:
            stop["signal"] = signum

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            while stop["signal"] is None and all(c.alive() for c in children):
                time.sleep(0.2)
        finally:
            processes.stop_all(children, grace=15)
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL)]
        if stop["signal"] is None and failed:
            raise CommandError("a child process exited unexpectedly; everything was stopped")
