"""tokens.verify reads a token at most once per API_TOKEN_CACHE_SECONDS per process.

What this process changes applies at once; a change it cannot see (another process's
revocation, here a bulk UPDATE, which sends no signal) applies once the TTL has passed. The
TTL is advanced by moving the cache's monotonic clock, not by waiting.
"""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.utils import timezone

from taskboard.models import ApiToken
from taskboard.operations import PERM_VIEW, token_cache, tokens
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    token_cache.verified.clear()
    fake = Clock()
    monkeypatch.setattr(token_cache.time, "monotonic", fake)
    yield fake
    token_cache.verified.clear()


@pytest.fixture
def reader() -> User:
    """Staff that may read through a group, so permission changes can be made to it."""
    user = make_user("reader")
    group = Group.objects.create(name="readers")
    app_label, codename = PERM_VIEW.split(".")
    group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    user.groups.add(group)
    return user


def get(key: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/stats/").status_code


def test_a_cached_token_is_not_read_again(reader: User, clock: Clock, django_assert_num_queries) -> None:
    _, key = tokens.create_token(reader)
    tokens.verify(key)
    with django_assert_num_queries(0):
        assert tokens.verify(key).user == reader


def test_the_token_is_read_again_after_the_ttl(reader: User, clock: Clock, django_assert_num_queries) -> None:
    _, key = tokens.create_token(reader)
    tokens.verify(key)
    clock.now += 1.0
    with django_assert_num_queries(1):
        tokens.verify(key)


def test_a_token_revoked_here_is_refused_at_once(reader: User, clock: Clock) -> None:
    token, key = tokens.create_token(reader)
    assert get(key) == 200
    tokens.revoke([token])
    assert get(key) == 401


def test_a_token_revoked_by_an_operator_here_is_refused_at_once(reader: User, clock: Clock) -> None:
    token, key = tokens.create_token(reader)
    assert get(key) == 200
    tokens.revoke_tokens([token])
    assert get(key) == 401


def test_a_revocation_this_process_cannot_see_applies_within_the_ttl(reader: User, clock: Clock) -> None:
    token, key = tokens.create_token(reader)
    assert get(key) == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())  # another process: no signal
    assert get(key) == 200
    clock.now += 1.0
    assert get(key) == 401


def test_without_a_ttl_every_request_reads_the_token(reader: User, clock: Clock, settings) -> None:
    settings.TASKBOARD = {**settings.TASKBOARD, "API_TOKEN_CACHE_SECONDS": 0}
    token, key = tokens.create_token(reader)
    assert get(key) == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert get(key) == 401


def test_a_user_deactivated_here_is_refused_at_once(reader: User, clock: Clock) -> None:
    _, key = tokens.create_token(reader)
    assert get(key) == 200
    reader.is_active = False
    reader.save()
    assert get(key) == 401


def test_a_permission_taken_away_here_applies_at_once(reader: User, clock: Clock) -> None:
    _, key = tokens.create_token(reader)
    assert get(key) == 200
    reader.groups.clear()
    assert get(key) == 403


def test_a_permission_taken_from_the_group_applies_at_once(reader: User, clock: Clock) -> None:
    _, key = tokens.create_token(reader)
    assert get(key) == 200
    Group.objects.get(name="readers").permissions.clear()
    assert get(key) == 403


def test_expiry_is_exact_for_a_cached_token(reader: User, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    token, key = tokens.create_token(reader, expires_in=timedelta(hours=1))
    assert get(key) == 200 and token.expires_at is not None
    after = token.expires_at + timedelta(seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: after)
    response = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/stats/")
    assert (response.status_code, "expired" in response.json()["error"]["message"]) == (401, True)


def test_last_use_is_still_recorded_for_a_cached_token(reader: User, clock: Clock,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    token, key = tokens.create_token(reader)
    assert get(key) == 200
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    later = first + timedelta(minutes=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert get(key) == 200  # served from the cache (the clock did not move)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == later


def test_an_unknown_key_is_never_cached(reader: User, clock: Clock, django_assert_num_queries) -> None:
    for _ in range(2):
        with django_assert_num_queries(1), pytest.raises(tokens.TokenError):
            tokens.verify("not-a-key")
