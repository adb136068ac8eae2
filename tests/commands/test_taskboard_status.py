from __future__ import annotations

import json

import pytest

from taskboard.models import Status
from tests.commands.conftest import run
from tests.web.api.api_fixtures import enqueue, failed_run, make_worker

pytestmark = pytest.mark.django_db


def test_json_counts() -> None:
    enqueue(), enqueue()
    failed_run()
    report = json.loads(run("taskboard_status", "--json").out)
    assert (report["by_status"], report["by_task"], report["dead_letters_open"]) == (
        {**{s.value: 0 for s in Status}, "queued": 2, "failed": 1},
        {"taskboard.demo.noop": {"queued": 2}, "taskboard.demo.fail": {"failed": 1}},
        1,
    )


def test_json_queues() -> None:
    enqueue()
    report = json.loads(run("taskboard_status", "--json").out)
    assert report["queues"]["default"]["depth"] == 1


def test_json_workers() -> None:
    make_worker(name="fresh", seconds_ago=1)
    make_worker(name="stale", seconds_ago=600)
    report = json.loads(run("taskboard_status", "--json").out)
    assert {w["id"]: w["alive"] for w in report["workers"]} == {"fresh": True, "stale": False}


def test_text_report() -> None:
    failed_run()
    make_worker(seconds_ago=1)
    out = run("taskboard_status").out
    assert ("taskboard.demo.fail: failed 1" in out, "Open dead letters: 1" in out,
            "Workers seen: 1 (1 alive)" in out) == (True, True, True)
