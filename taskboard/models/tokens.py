"""``ApiToken``: bearer tokens for the JSON API and /metrics (only a hash is stored)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.utils import timezone

from taskboard.models import sql as rowsql


class ApiToken(models.Model):
    """A bearer token for the JSON API and /metrics. Only a SHA-256 of the key is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="taskboard_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    prefix = models.CharField(max_length=12, help_text="First characters, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True,
                                      help_text="After this the token is refused; empty: never expires.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired()

    @classmethod
    def find(cls, key_hash: str) -> ApiToken | None:
        """The token with this key hash, its user loaded (``select_related``), or None.

        Every API request asks this, so it is one memoised SELECT … JOIN read with the ORM's
        converters (``models.sql``), not a queryset compiled anew per call."""
        user_model = get_user_model()
        own = cls._meta.concrete_fields
        theirs = user_model._meta.concrete_fields
        user_fk = cls._meta.get_field("user")
        assert isinstance(user_fk, models.ForeignKey)

        def build() -> str:
            q = connection.ops.quote_name
            token_table, user_table = q(cls._meta.db_table), q(user_model._meta.db_table)
            columns = [f"{token_table}.{q(str(f.column))}" for f in own]
            columns += [f"{user_table}.{q(str(f.column))}" for f in theirs]
            return (f"SELECT {', '.join(columns)} FROM {token_table} INNER JOIN {user_table} "
                    f"ON {user_table}.{q(str(user_model._meta.pk.column))} = {token_table}.{q(user_fk.column)} "
                    f"WHERE {token_table}.{q('key_hash')} = %s")

        with connection.cursor() as cursor:
            cursor.execute(rowsql.text(("token-by-hash", user_model), build), [key_hash])
            row = cursor.fetchone()
        if row is None:
            return None
        token = rowsql.from_row(cls, row[:len(own)])
        user_fk.set_cached_value(token, rowsql.from_row(user_model, row[len(own):]))
        return token

    def mark_used(self, now: datetime, resolution: timedelta) -> bool:
        """Record a use at ``now`` unless one within ``resolution`` is already recorded.

        A conditional UPDATE: concurrent requests (threads, processes, hosts) that all saw an
        old value write the row once, and a token used continuously is written once per
        ``resolution``, not once per request. True when this call wrote it."""
        if self.last_used_at is not None and now - self.last_used_at < resolution:
            return False
        stale = models.Q(last_used_at__isnull=True) | models.Q(last_used_at__lt=now - resolution)
        written = ApiToken.objects.filter(stale, pk=self.pk).update(last_used_at=now) == 1
        if written:
            self.last_used_at = now
        return written
