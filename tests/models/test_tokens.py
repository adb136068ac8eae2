"""ApiToken: the one-statement lookup by key hash and the conditional last-use write."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from taskboard.models import ApiToken
from taskboard.operations import tokens
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

MINUTE = timedelta(minutes=1)


@pytest.fixture
def owner() -> User:
    return make_user("owner")


def test_find_reads_the_token_with_its_user_in_one_query(owner: User, django_assert_num_queries) -> None:
    token, key = tokens.create_token(owner, "ci")
    with django_assert_num_queries(1):
        found = ApiToken.find(tokens.hash_key(key))
        assert found is not None
        assert (found.pk, found.name, found.user.username, found.user.is_staff) == (token.pk, "ci", "owner", True)


def test_find_converts_values_like_the_orm(owner: User) -> None:
    token, key = tokens.create_token(owner, expires_in=timedelta(hours=1))
    found = ApiToken.find(tokens.hash_key(key))
    stored = ApiToken.objects.select_related("user").get(pk=token.pk)
    assert found is not None
    assert (found.expires_at, found.created_at, found.user.date_joined, found.user.is_active) == (
        stored.expires_at, stored.created_at, stored.user.date_joined, True)


def test_find_of_an_unknown_hash_is_none(owner: User) -> None:
    tokens.create_token(owner)
    assert ApiToken.find(tokens.hash_key("not-a-key")) is None


def test_a_first_use_is_written(owner: User) -> None:
    token, _ = tokens.create_token(owner)
    now = timezone.now()
    assert token.mark_used(now, MINUTE)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == now


def test_a_use_within_the_resolution_is_not_written(owner: User) -> None:
    token, _ = tokens.create_token(owner)
    first = timezone.now()
    token.mark_used(first, MINUTE)
    assert not token.mark_used(first + timedelta(seconds=59), MINUTE)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first


def test_a_use_after_the_resolution_is_written(owner: User) -> None:
    token, _ = tokens.create_token(owner)
    first = timezone.now()
    token.mark_used(first, MINUTE)
    later = first + timedelta(seconds=61)
    assert token.mark_used(later, MINUTE)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == later


def test_copies_that_saw_the_same_old_value_write_it_once(owner: User) -> None:
    """Two processes (here: two copies of the row) both see an old last use: one UPDATE wins."""
    token, _ = tokens.create_token(owner)
    old = timezone.now() - timedelta(minutes=5)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=old)
    here, there = ApiToken.objects.get(pk=token.pk), ApiToken.objects.get(pk=token.pk)
    now = timezone.now()
    assert here.mark_used(now, MINUTE)
    assert not there.mark_used(now + timedelta(seconds=1), MINUTE)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == now
