"""Alert settings: TASKBOARD_ALERTS and the channel settings, validated with clear messages
(at start-up from the environment, and lazily for settings set in code)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from taskboard.models import RuleName
from taskboard.notify.config import (
    RULE_FIELDS,
    check_channels,
    check_webhook_secret,
    new_webhook_secret,
    parse_alerts,
)
from tests.execution.workers import ROOT


def test_defaults_are_alertmanagers():
    config = parse_alerts("")
    assert (config.group_wait, config.group_interval, config.repeat_interval, config.interval) == (30, 300, 14400, 5)
    assert config.rule("failure_rate").threshold == 50 and config.rule("queue_wait").threshold == 300


def test_rule_names_match_the_model_choices():
    assert set(RULE_FIELDS) == set(RuleName.values)


def test_scoped_settings_layer_over_the_rule():
    config = parse_alerts('{"queue_wait": {"threshold": 600}, "queue_wait:reports": {"threshold": 7200}, '
                          '"group_wait": 10}')
    assert config.group_wait == 10
    assert config.rule("queue_wait", "default").threshold == 600
    assert config.rule("queue_wait", "reports").threshold == 7200
    admin = {("queue_wait", "reports"): {"enabled": False}}
    assert not config.rule("queue_wait", "reports", admin).enabled


@pytest.mark.parametrize(("value", "message"), [
    ("{", "is not JSON"),
    ("[]", "must be a JSON object"),
    ('{"nope": {}}', "unknown rule 'nope'"),
    ('{"failure_rate": {"threshold": 0}}', "percentage"),
    ('{"failure_rate": {"threshold": "50"}}', "finite number"),
    ('{"queue_wait": {"threshold": -1}}', "seconds"),
    ('{"queue_wait": {"min_count": 3}}', "queue_wait takes enabled, threshold, not 'min_count'"),
    ('{"failure_rate:billing": {"window": 600}}', "only for the whole rule"),
    ('{"dead_letter": {"min_count": 0}}', "min_count"),
    ('{"dead_letter": {"window": 10}}', "window"),
    ('{"dead_letter": {"enabled": "yes"}}', "true or false"),
    ('{"group_wait": 0}', "seconds"),
    ('{"group_interval": 10, "repeat_interval": 5}', "interval ≤ group_interval ≤ repeat_interval"),
    ('{"delivery_attempts": 0}', "1 to 100"),
    ('{"queue_wait": 300}', "must be an object"),
])
def test_bad_alert_settings_are_refused_naming_the_problem(value, message):
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(")):
        parse_alerts(value)


def test_secrets():
    secret = new_webhook_secret()
    assert secret.startswith("whsec_") and check_webhook_secret(secret) == secret
    for bad, message in (("abc", "must start with 'whsec_'"), ("whsec_!!!", "not base64"),
                         ("whsec_QUJD", "24 to 64 bytes")):
        with pytest.raises(ImproperlyConfigured, match=message):
            check_webhook_secret(bad)


@pytest.mark.parametrize(("args", "message"), [
    (("ftp://x", "", [], [], ""), "http:// or https://"),
    (("https://hooks.example.com/x", "", [], [], ""), "TASKBOARD_WEBHOOK_SECRET is not"),
    (("", "", ["not-an-address"], [], ""), "not an email address"),
    (("", "", [], ["nonsense"], ""), "not an Apprise URL"),
    (("", "", [], ["unknownscheme://x/y"], ""), "Apprise cannot use the unknownscheme:// URL"),
    (("", "", [], [], "https://ops.example.com/?x=1"), "query or fragment"),
    (("", "", [], [], "example.com"), "TASKBOARD_BASE_URL must be an http"),
])
def test_bad_channels_are_refused(args, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        check_channels(*args)


def test_the_message_never_repeats_an_apprise_url():
    with pytest.raises(ImproperlyConfigured) as caught:
        check_channels("", "", [], ["unknownscheme://secret-token/abc"], "")
    assert "secret-token" not in str(caught.value)


def test_channels_in_order():
    channels = check_channels("https://h.example.com/", new_webhook_secret(), ["a@example.com"],
                              ["json://127.0.0.1/x"], "https://ops.example.com/")
    assert channels.names()[:2] == ["webhook", "email"] and channels.names()[2].startswith("apprise:")
    assert channels.base_url == "https://ops.example.com"


@pytest.mark.parametrize(("env", "message"), [
    ({"TASKBOARD_ALERTS": '{"failure_rate": {"threshold": 500}}'}, "TASKBOARD_ALERTS['failure_rate']"),
    ({"TASKBOARD_ALERT_WEBHOOK_URL": "https://h.example.com/", "TASKBOARD_WEBHOOK_SECRET": "nope"}, "whsec_"),
    ({"TASKBOARD_BASE_URL": "ops"}, "TASKBOARD_BASE_URL"),
    ({"ADMINS": "root"}, "ADMINS"),
    ({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "exclusive"),
])
def test_a_bad_environment_stops_start_up_naming_the_variable(env, message):
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "taskboard.settings", **env})
    assert done.returncode != 0 and message in done.stderr
