from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError
from django.test import Client

from taskboard.models import ApiToken
from taskboard.operations import tokens
from tests.commands.conftest import run

pytestmark = pytest.mark.django_db


def test_prints_the_key_as_the_last_line(operator: User) -> None:
    key = run("taskboard_token", "operator").last_line
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/stats/").status_code == 200


def test_stores_only_the_hash(operator: User) -> None:
    key = run("taskboard_token", "operator").last_line
    assert ApiToken.objects.get().key_hash == tokens.hash_key(key)


def test_stores_the_name(operator: User) -> None:
    run("taskboard_token", "operator", "--name", "grafana")
    assert ApiToken.objects.get().name == "grafana"


def test_unknown_user_is_an_error(db: None) -> None:
    with pytest.raises(CommandError, match="no user 'ghost'"):
        run("taskboard_token", "ghost")


def test_without_a_username_is_an_error(db: None) -> None:
    with pytest.raises(CommandError, match="USERNAME"):
        run("taskboard_token")


def test_warns_about_non_staff_users(outsider: User) -> None:
    assert "not active staff" in run("taskboard_token", "outsider").err


def test_revoke_by_prefix(operator: User) -> None:
    key = run("taskboard_token", "operator").last_line
    run("taskboard_token", "--revoke", key[:8])
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/stats/").status_code == 401


def test_revoke_by_whole_key(operator: User) -> None:
    key = run("taskboard_token", "operator").last_line
    run("taskboard_token", "--revoke", key)
    assert ApiToken.objects.get().revoked_at is not None


def test_revoke_leaves_other_tokens_alone(operator: User) -> None:
    first = run("taskboard_token", "operator").last_line
    second = run("taskboard_token", "operator").last_line
    run("taskboard_token", "--revoke", first)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {second}").get("/api/stats/").status_code == 200


def test_revoke_unknown_prefix_is_an_error(operator: User) -> None:
    with pytest.raises(CommandError, match="no active token"):
        run("taskboard_token", "--revoke", "zzzzzzzz")


def test_revoke_needs_a_few_characters(operator: User) -> None:
    run("taskboard_token", "operator")
    with pytest.raises(CommandError, match="at least 4 characters"):
        run("taskboard_token", "--revoke", "")


def test_revoke_of_an_ambiguous_prefix_is_an_error(operator: User) -> None:
    ApiToken.objects.create(user=operator, prefix="abcd1111", key_hash="1" * 64)
    ApiToken.objects.create(user=operator, prefix="abcd2222", key_hash="2" * 64)
    with pytest.raises(CommandError, match="2 active tokens"):
        run("taskboard_token", "--revoke", "abcd")


def test_list_shows_prefixes_not_keys(operator: User) -> None:
    key = run("taskboard_token", "operator", "--name", "ci").last_line
    listing = run("taskboard_token", "--list").out
    assert (key[:8] in listing, key in listing) == (True, False)


def test_keys_never_start_with_a_dash_so_revoke_can_take_them(operator: User, monkeypatch) -> None:
    drawn = iter(["-looks-like-an-option", "Kx9_plain-key"])
    monkeypatch.setattr(tokens.secrets, "token_urlsafe", lambda n: next(drawn))
    _, key = tokens.create_token(operator)
    assert key == "Kx9_plain-key"
    run("taskboard_token", "--revoke", key)
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()


def test_expires_in_days(operator: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    out = run("taskboard_token", "operator", "--expires-in", "90")
    token = ApiToken.objects.get()
    assert token.expires_at is not None
    assert timedelta(days=89) < token.expires_at - timezone.now() <= timedelta(days=90)
    assert "expires" in out.out
    assert "expires" in run("taskboard_token", "--list").out


def test_without_expires_in_the_token_never_expires(operator: User) -> None:
    run("taskboard_token", "operator")
    assert ApiToken.objects.get().expires_at is None


@pytest.mark.parametrize("days", ["0", "-3", "soon", "nan", "inf", "99999999"])
def test_bad_expires_in_is_an_error(operator: User, days: str) -> None:
    with pytest.raises(CommandError, match="expires-in"):
        run("taskboard_token", "operator", "--expires-in", days)
    assert not ApiToken.objects.exists()
