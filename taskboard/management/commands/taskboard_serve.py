"""``make run``: the web server (gunicorn) and the workers together, stopped by one Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from taskboard.conf import conf
from taskboard.models import TaskRun


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
            subprocess.Popen(
                [python, "-m", "gunicorn", "taskboard.wsgi:application",
                 "--bind", f"{options['host']}:{port}", "--workers", str(options["web_workers"]),
                 "--worker-class", "gthread", "--threads", "8", "--access-logfile", "-",
                 "--graceful-timeout", "5"],
                cwd=settings.BASE_DIR, start_new_session=True,
            ),
            subprocess.Popen([python, "manage.py", "taskboard_worker"],
                             cwd=settings.BASE_DIR, start_new_session=True),
        ]
        self.stdout.write(f"taskboard at http://{options['host']}:{port}/ (Ctrl-C stops everything)")
        stop = {"signal": None}

        def request_stop(signum: int, frame: Any) -> None:
            stop["signal"] = signum

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            while stop["signal"] is None and all(c.poll() is None for c in children):
                time.sleep(0.2)
        finally:
            for child in children:
                if child.poll() is None:
                    os.killpg(child.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                child.wait()
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL)]
        if stop["signal"] is None and failed:
            raise CommandError("a child process exited unexpectedly; everything was stopped")
