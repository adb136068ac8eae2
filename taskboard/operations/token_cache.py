"""The tokens a process verified lately, so an API request does not read its token every time.

Every API request presents a token; reading the row and its user (one SELECT, two model
instances) was a large share of a small request's work. ``verified`` keeps what
``tokens.verify`` read, per key hash, for ``TASKBOARD["API_TOKEN_CACHE_SECONDS"]`` (1 s; 0
turns it off). What that bounds, and how:

- revoking a token, deactivating a user, changing a user's or a group's permissions, or
  deleting either: refused (or applied) at once by the process that made the change (these
  signals and ``tokens.revoke`` clear the cache), and by every other process within the TTL;
  a bulk ``QuerySet.update()`` of users sends no signal and waits out the TTL everywhere;
- expiry: checked on every request against the cached ``expires_at`` (exact).

A cached token's user is shared by the requests of that second, with Django's permission
cache on it (``ModelBackend`` fills ``_perm_cache`` once): a staff token that is not a
superuser's no longer costs two permission queries per request.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save

from taskboard.conf import conf
from taskboard.models import ApiToken

# A process serves few tokens; many distinct keys (a scan) must not grow the dict.
MAX_ENTRIES = 1000


class VerifiedTokens:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[ApiToken, float]] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> ApiToken | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        token, read_at = entry
        if time.monotonic() - read_at >= conf.API_TOKEN_CACHE_SECONDS:
            return None
        return token

    def put(self, digest: str, token: ApiToken) -> None:
        if conf.API_TOKEN_CACHE_SECONDS <= 0:
            return
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[digest] = (token, time.monotonic())

    def clear(self, *args: Any, **kwargs: Any) -> None:
        """Forget everything (also a signal receiver: any argument is ignored)."""
        with self._lock:
            self._entries.clear()


verified = VerifiedTokens()


def _connect() -> None:
    user_model = get_user_model()
    for sender in (user_model, ApiToken, Group):
        post_save.connect(verified.clear, sender=sender, weak=False, dispatch_uid=f"token-cache-save-{sender}")
        post_delete.connect(verified.clear, sender=sender, weak=False, dispatch_uid=f"token-cache-del-{sender}")
    for through in (user_model.groups.through, user_model.user_permissions.through,
                    Group.permissions.through):
        m2m_changed.connect(verified.clear, sender=through, weak=False, dispatch_uid=f"token-cache-m2m-{through}")


_connect()
