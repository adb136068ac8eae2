"""API tokens: create, verify, revoke, optionally expire. Only a SHA-256 of a key is stored.

A key is ``secrets.token_urlsafe(32)`` (256 bits), shown once by ``manage.py taskboard_token``.
The row keeps its first characters (``prefix``) so operators can tell tokens apart and revoke
one without knowing the whole key. Keys have enough entropy that a fast unsalted hash is the
right tool (as with GitHub or Django REST framework tokens); lookup is by the unique hash.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils import timezone

from taskboard.models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PREFIX_LENGTH = 8
# last_used_at is a hint for operators, not an audit log: write it at most this often so a
# busy client does not turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(Exception):
    """The presented key is unknown, revoked, expired, or belongs to an inactive user."""


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user: User, name: str = "", *, expires_in: timedelta | None = None) -> tuple[ApiToken, str]:
    """Store a new token for ``user``, valid for ``expires_in`` (None: until revoked);
    returns the row and the key (shown only once)."""
    if expires_in is not None and expires_in <= timedelta(0):
        raise ValueError("a token must be valid for a positive time")
    key = secrets.token_urlsafe(32)
    while key.startswith("-"):  # `taskboard_token --revoke -Abc…` would read it as an option
        key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=key[:PREFIX_LENGTH], key_hash=hash_key(key),
        expires_at=timezone.now() + expires_in if expires_in is not None else None,
    )
    return token, key


def verify(key: str) -> ApiToken:
    """The active token for ``key`` (with its user); raises TokenError otherwise."""
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key)).first()
    if token is None:
        raise TokenError("invalid token")
    if token.revoked_at is not None:
        raise TokenError("token revoked")
    if token.is_expired():
        raise TokenError("token expired; create a new one with manage.py taskboard_token")
    if not token.user.is_active:
        raise TokenError("token user is inactive")
    touch(token)
    return token


def touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now


def matching(prefix: str, user: User | None = None) -> QuerySet[ApiToken]:
    """Unrevoked tokens whose key starts with ``prefix`` (the stored prefix, or a whole key);
    an expired one can still be revoked, which says so in the list."""
    qs = ApiToken.objects.filter(revoked_at__isnull=True).select_related("user")
    if len(prefix) > PREFIX_LENGTH:
        qs = qs.filter(key_hash=hash_key(prefix))
    elif len(prefix) == PREFIX_LENGTH:
        qs = qs.filter(prefix=prefix)
    else:
        qs = qs.filter(prefix__startswith=prefix)
    if user is not None:
        qs = qs.filter(user=user)
    return qs


def revoke(tokens: list[ApiToken]) -> int:
    now = timezone.now()
    count = ApiToken.objects.filter(pk__in=[t.pk for t in tokens], revoked_at__isnull=True).update(
        revoked_at=now
    )
    for token in tokens:
        token.revoked_at = now
    return count
