"""The gunicorn command line of taskboard_serve, shared with bench.api_http."""

from taskboard.management.commands._gunicorn import gunicorn_command
from taskboard.management.commands.taskboard_serve import MAX_SOCKET_PATH, control_socket


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_threaded_workers_serve_the_wsgi_application() -> None:
    command = gunicorn_command("python", "127.0.0.1:8000", workers=2, control_socket=None)
    assert command[:4] == ["python", "-m", "gunicorn", "taskboard.wsgi:application"]
    assert (option(command, "--worker-class"), option(command, "--threads"), option(command, "--workers")) == (
        "gthread", "8", "2")


def test_the_asgi_worker_class_serves_the_asgi_application() -> None:
    command = gunicorn_command("python", "127.0.0.1:8000", workers=2, control_socket=None, worker_class="asgi")
    assert command[3] == "taskboard.asgi:application"


def test_each_server_has_its_own_control_socket_or_none() -> None:
    mine = gunicorn_command("python", "127.0.0.1:8000", workers=1, control_socket="/tmp/x/gunicorn.ctl")
    assert option(mine, "--control-socket") == "/tmp/x/gunicorn.ctl"
    assert "--no-control-socket" in gunicorn_command("python", "127.0.0.1:8000", workers=1, control_socket=None)


def test_taskboard_serve_names_the_socket_after_its_port(settings, tmp_path) -> None:
    settings.VAR_DIR = tmp_path
    assert control_socket(8123) == str(tmp_path / "gunicorn-8123.ctl")
    settings.VAR_DIR = tmp_path / ("x" * MAX_SOCKET_PATH)
    assert control_socket(8123) is None  # too long for a Unix socket: none rather than a failed start
