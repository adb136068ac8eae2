"""The gunicorn command line of ``taskboard_serve`` (``make run``), shared with ``bench.api_http``
so the benchmark measures exactly the server a user runs.

Worker model: threads (``gthread``). A request spends much of its time waiting on the database
or the broker with the GIL released, so a few threads per process overlap those waits; one
process per core carries the Python work. Keep-alive connections are served by the threads.
"""

from __future__ import annotations

WORKER_CLASS = "gthread"
THREADS = 8


def gunicorn_command(python: str, bind: str, *, workers: int, control_socket: str | None,
                     threads: int = THREADS, worker_class: str = WORKER_CLASS,
                     access_log: bool = False) -> list[str]:
    """argv for ``python -m gunicorn`` serving taskboard on ``bind`` (its ASGI application
    with gunicorn's ``asgi`` worker class, else the WSGI one).

    ``control_socket``: gunicorn's runtime control socket (``gunicornc``). Its default path is
    one per user, so two servers on one machine would take it from each other: each server gets
    its own path, or none (None)."""
    app = "taskboard.asgi:application" if worker_class == "asgi" else "taskboard.wsgi:application"
    command = [python, "-m", "gunicorn", app, "--bind", bind, "--workers", str(workers),
               "--worker-class", worker_class, "--threads", str(threads), "--graceful-timeout", "5"]
    command += ["--control-socket", control_socket] if control_socket else ["--no-control-socket"]
    if access_log:
        command += ["--access-logfile", "-"]
    return command
