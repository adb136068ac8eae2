import logging

import pytest

from taskboard.execution.runner import execute
from tests import sample_tasks

pytestmark = pytest.mark.django_db(transaction=True)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict):
            self.events.append(record.msg)


def test_every_run_log_line_carries_run_task_and_attempt():
    handler = Collect()
    logger = logging.getLogger("taskboard.execution.runner")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.DEBUG)  # successes are logged at DEBUG
    try:
        failing = sample_tasks.fail_until.enqueue(succeed_on=5)
        execute(failing.id)
        passing = sample_tasks.add.enqueue(1, 2)
        execute(passing.id)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    by_event = {e["event"]: e for e in handler.events}
    failed, succeeded = by_event["attempt failed"], by_event["attempt succeeded"]
    assert (failed["run_id"], failed["task"], failed["attempt"]) == (failing.id, "tests.sample_tasks.fail_until", 1)
    assert (succeeded["run_id"], succeeded["task"], succeeded["attempt"]) == (passing.id, "tests.sample_tasks.add", 1)


def test_json_renderer_is_selected_by_log_format():
    from taskboard.logging import build_logging_config

    config = build_logging_config(json_output=True, level="INFO")
    renderer = config["formatters"]["structlog"]["processors"][-1]
    assert type(renderer).__name__ == "JSONRenderer"
