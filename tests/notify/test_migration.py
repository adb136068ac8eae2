"""0014_notify fills in the fingerprint of dead letters written before it (their run's last
attempt's), so existing failure groups alert as new ones do."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from taskboard.models import DeadLetter
from tests.factories import make_attempt, make_failed

pytestmark = pytest.mark.django_db


def test_existing_dead_letters_get_their_last_attempts_fingerprint() -> None:
    run = make_failed("card declined for order 7")
    second = make_attempt(run, 2, message="gateway timeout after 30s", exception="builtins.TimeoutError")
    no_attempt = make_failed("x")
    no_attempt.attempt_set.all().delete()
    DeadLetter.objects.update(fingerprint="")
    importlib.import_module("taskboard.migrations.0014_notify").fill_fingerprints(apps, None)
    assert DeadLetter.objects.get(run=run).fingerprint == second.fingerprint
    assert DeadLetter.objects.get(run=no_attempt).fingerprint == ""
