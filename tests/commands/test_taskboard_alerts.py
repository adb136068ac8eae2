"""taskboard_alerts (list, silence, evaluate) and taskboard_token --webhook-secret."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management.base import CommandError
from standardwebhooks import Webhook

from taskboard.models import Alert, AlertLease, AlertState, AuditEvent
from taskboard.notify.config import check_webhook_secret
from tests.commands.conftest import run
from tests.execution.workers import ROOT, database_env
from tests.factories import make_failed

pytestmark = pytest.mark.django_db


def alert(state: str = AlertState.FIRING, key: str = "default") -> Alert:
    return Alert.objects.create(rule="queue_wait", key=key, state=state, summary=f"queue {key} waits", count=3)


def test_list_json_is_the_api_shape():
    made = alert()
    [row] = json.loads(run("taskboard_alerts", "list", "--json").out)["results"]
    assert row["id"] == made.pk and set(row) == {"id", "rule", "state", "key", "summary", "count", "started_at",
                                                  "resolved_at", "silenced_until", "link"}


def test_list_by_state():
    alert(key="a")
    alert(AlertState.RESOLVED, key="b")
    out = run("taskboard_alerts", "list", "--state", "resolved").out
    assert "queue b waits" in out and "queue a waits" not in out
    assert run("taskboard_alerts", "list", "--state", "firing", "--json").out.count('"id"') == 1


def test_silence_prints_until_when_and_is_audited_as_a_command():
    made = alert()
    line = run("taskboard_alerts", "silence", str(made.pk), "--minutes", "30", "--reason", "maintenance").last_line
    assert line.startswith(f"alert {made.pk} silenced until ")
    made.refresh_from_db()
    assert made.silence_reason == "maintenance"
    [event] = AuditEvent.objects.all()
    assert (event.verb, event.via, event.targets) == ("alert.silence", "cli", [str(made.pk)])


@pytest.mark.parametrize(("args", "message"), [
    (["silence", "1"], "--minutes"),
    (["silence", "--minutes", "5"], "ID"),
    (["silence", "999999", "--minutes", "5"], "no alert with id 999999"),
    (["silence", "{id}", "--minutes", "0"], "minutes must be"),
    (["silence", "{id}", "--minutes", "10081"], "minutes must be"),
    (["list", "7"], "takes no ID"),
    (["list", "--limit", "0"], "--limit"),
])
def test_bad_input_is_a_one_line_error_and_writes_nothing(args, message):
    made = alert()
    with pytest.raises(CommandError, match=message):
        run("taskboard_alerts", *[a.format(id=made.pk) for a in args])
    assert not AuditEvent.objects.exists()


def test_bad_values_exit_non_zero_from_the_shell(transactional_db):
    env = database_env()
    for args in (["silence", "x", "--minutes", "5"], ["list", "--state", "open"], ["silence", "1", "--minutes", "ten"]):
        done = subprocess.run([sys.executable, "manage.py", "taskboard_alerts", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        assert done.returncode != 0 and done.stderr.strip().splitlines()[-1].startswith("manage.py taskboard_alerts")


def test_evaluate_runs_once_and_hands_the_lease_back(settings):
    settings.TASKBOARD_ALERTS = {r: {"enabled": False} for r in ("failure_rate", "no_workers", "queue_wait")}
    make_failed()
    assert "1 alerts opened" in run("taskboard_alerts", "evaluate").last_line
    assert Alert.objects.get().rule == "dead_letter"
    assert AlertLease.objects.get().holder == ""  # released: a worker's clock takes it at once


def test_webhook_secret_is_the_last_line_and_signs():
    secret = run("taskboard_token", "--webhook-secret").last_line
    assert check_webhook_secret(secret) == secret
    signature = Webhook(secret).sign("msg_1", __import__("datetime").datetime.now(), "{}")
    assert signature.startswith("v1,")
    assert run("taskboard_token", "--webhook-secret").last_line != secret


def test_webhook_secret_takes_no_user():
    with pytest.raises(CommandError, match="takes no USERNAME"):
        run("taskboard_token", "ops", "--webhook-secret")
