"""API tokens: create, verify, revoke, optionally expire. Only a SHA-256 of a key is stored.

A key is ``secrets.token_urlsafe(32)`` (256 bits), shown once by ``manage.py taskboard_token``.
``issue_token`` and ``revoke_tokens`` are the operator verbs (command and admin), audited as
``token.create`` / ``token.revoke`` with the target ``<owner>:<prefix>``; ``create_token``
and ``revoke`` are their building blocks (tests make tokens with them, unaudited).
The row keeps its first characters (``prefix``) so operators can tell tokens apart and revoke
one without knowing the whole key. Keys have enough entropy that a fast unsalted hash is the
right tool (as with GitHub or Django REST framework tokens); lookup is by the unique hash.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from taskboard.models import ApiToken
from taskboard.operations import audit
from taskboard.operations.permissions import Actor, require
from taskboard.operations.token_cache import verified

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PREFIX_LENGTH = 8
# Revoking is changing a token (the admin's "change" permission); creating one is done only by
# ``taskboard_token`` on the server (a trusted caller), as the key is shown there once.
PERM_REVOKE = "taskboard.change_apitoken"
PERM_CREATE = "taskboard.add_apitoken"
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
    """The active token for ``key`` (with its user); raises TokenError otherwise.

    Expiry is checked on every call. The row and its user are read from the database at most
    once per ``TASKBOARD["API_TOKEN_CACHE_SECONDS"]`` (1 s; 0 reads on every call) per
    process and key (see ``verified``): a token revoked, or a user deactivated or given other
    permissions, elsewhere is refused at most that long later; in this process at once."""
    digest = hash_key(key)
    token = verified.get(digest)
    if token is None:
        token = ApiToken.find(digest)
        if token is None:
            raise TokenError("invalid token")
        if token.revoked_at is not None:
            raise TokenError("token revoked")
        if not token.user.is_active:
            raise TokenError("token user is inactive")
        verified.put(digest, token)
    if token.is_expired():
        raise TokenError("token expired; create a new one with manage.py taskboard_token")
    touch(token)
    return token


def touch(token: ApiToken) -> None:
    token.mark_used(timezone.now(), LAST_USED_RESOLUTION)


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
    # Refused from this process's next request on (again at commit: a request that read the
    # row before this transaction committed may have cached it meanwhile).
    verified.clear()
    transaction.on_commit(verified.clear)
    for token in tokens:
        token.revoked_at = now
    return count


def target(token: ApiToken) -> str:
    """How the audit log names a token: its owner and the first characters of its key."""
    return f"{token.user.get_username()}:{token.prefix}"


def issue_token(owner: User, name: str = "", *, expires_in: timedelta | None = None,
                user: Actor = None) -> tuple[ApiToken, str]:
    """``create_token`` as an operator action: audited in the same transaction."""
    require(user, PERM_CREATE)
    with transaction.atomic():
        token, key = create_token(owner, name, expires_in=expires_in)
        audit.record("token.create", user=user, targets=[target(token)])
    return token, key


def revoke_tokens(found: list[ApiToken], *, user: Actor = None) -> int:
    """``revoke`` as an operator action: one audit event for the tokens actually revoked."""
    require(user, PERM_REVOKE)
    with transaction.atomic():
        active = list(ApiToken.objects.select_for_update().select_related("user").filter(
            pk__in=[t.pk for t in found], revoked_at__isnull=True))
        count = revoke(active)
        if count:
            audit.record("token.revoke", user=user, targets=[target(t) for t in active])
    now_revoked = {t.pk: t.revoked_at for t in active}
    for token in found:
        token.revoked_at = now_revoked.get(token.pk, token.revoked_at)
    return count
