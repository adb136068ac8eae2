import logging

import pytest

from taskboard.runner import execute
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
    logger = logging.getLogger("taskboard.runner")
    logger.addHandler(handler)
    try:
        result = sample_tasks.fail_until.enqueue(succeed_on=5)
        execute(result.id)
    finally:
        logger.removeHandler(handler)
    events = [e for e in handler.events if e.get("event") in ("attempt started", "attempt failed")]
    assert len(events) == 2
    for event in events:
        assert (event["run_id"], event["task"], event["attempt"]) == (result.id, "tests.sample_tasks.fail_until", 1)


def test_json_renderer_is_selected_by_log_format():
    from taskboard.logging import build_logging_config

    config = build_logging_config(json_output=True, level="INFO")
    renderer = config["formatters"]["structlog"]["processors"][-1]
    assert type(renderer).__name__ == "JSONRenderer"
