"""``taskboard_token USERNAME [--name N] [--expires-in DAYS]``: create an API token; the key
is the last line. With ``--expires-in`` the API refuses the token (401) after that many days
(fractions allowed); without it the token is valid until revoked.

Also ``taskboard_token --revoke PREFIX [USERNAME]`` and ``taskboard_token --list [USERNAME]``.
``taskboard_token --webhook-secret`` prints a new Standard Webhooks secret (``whsec_…``) as the
last line, for ``TASKBOARD_WEBHOOK_SECRET`` (nothing is stored: the setting is the only copy).
Only a SHA-256 of the key is stored, so a lost key cannot be shown again: create a new one.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from taskboard.management.commands._cli import OperatorCommand
from taskboard.models import ApiToken
from taskboard.operations import tokens

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MIN_REVOKE_PREFIX = 4
MAX_EXPIRY_DAYS = 36_500


def _days(text: str) -> timedelta:
    """``--expires-in``: a positive number of days (argparse reports the ValueError's type)."""
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not (0 < days <= MAX_EXPIRY_DAYS):  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {MAX_EXPIRY_DAYS} days")
    return timedelta(days=days)


class Command(OperatorCommand):
    help = "Create (or list, or revoke) a taskboard API token; a new key is printed as the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", help="The user the token acts as (staff with permissions).")
        parser.add_argument("--name", default="", help="A label to tell tokens apart (e.g. 'grafana').")
        parser.add_argument("--expires-in", metavar="DAYS", type=_days,
                            help="Refuse the token after this many days (e.g. 90, or 0.5); default: never.")
        parser.add_argument("--revoke", metavar="PREFIX",
                            help="Revoke the active token whose key starts with PREFIX (shown by --list).")
        parser.add_argument("--list", action="store_true", help="List tokens (of USERNAME, or all).")
        parser.add_argument("--webhook-secret", action="store_true",
                            help="Print a new secret for TASKBOARD_WEBHOOK_SECRET (whsec_…) as the last line.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["webhook_secret"]:
            self._webhook_secret(options)
            return
        user = self._user(options["username"]) if options["username"] else None
        if options["revoke"] is not None:
            self._revoke(options["revoke"], user)
        elif options["list"]:
            self._list(user)
        elif user is None:
            raise CommandError("give a USERNAME to create a token for (or --list / --revoke PREFIX)")
        else:
            self._create(user, options["name"], options["expires_in"])

    def _webhook_secret(self, options: dict[str, Any]) -> None:
        from taskboard.notify.config import new_webhook_secret

        if options["username"] or options["list"] or options["revoke"] is not None or options["name"]:
            raise CommandError("--webhook-secret takes no USERNAME, --name, --list or --revoke")
        self.stdout.write("a new webhook signing secret; set it as TASKBOARD_WEBHOOK_SECRET and give it to the "
                          "receiver (it verifies the webhook-signature header with it):")
        self.stdout.write(new_webhook_secret())

    def _user(self, username: str) -> User:
        model = get_user_model()
        try:
            return model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            raise CommandError(f"no user {username!r}") from None

    def _create(self, user: User, name: str, expires_in: timedelta | None) -> None:
        if len(name) > 100:
            raise CommandError("--name must be at most 100 characters")
        if not (user.is_active and user.is_staff):
            self.stderr.write(f"warning: {user.get_username()} is not active staff; "
                              "the API will answer 403 to this token until they are")
        token, key = tokens.issue_token(user, name, expires_in=expires_in)
        expiry = f", expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else ""
        self.stdout.write(f"created token {token.prefix}… for {user.get_username()}"
                          + (f" ({name})" if name else "") + expiry + "; it is shown only once:")
        self.stdout.write(key)

    def _revoke(self, prefix: str, user: User | None) -> None:
        prefix = prefix.strip()
        if len(prefix) < MIN_REVOKE_PREFIX:
            raise CommandError(f"--revoke needs at least {MIN_REVOKE_PREFIX} characters of the key")
        found = list(tokens.matching(prefix, user))
        if not found:
            raise CommandError(f"no active token starts with {prefix!r}")
        if len(found) > 1:
            raise CommandError(f"{len(found)} active tokens start with {prefix!r}; "
                               "give more characters or the USERNAME")
        tokens.revoke_tokens(found)
        self.stdout.write(f"revoked token {found[0].prefix}… of {found[0].user.get_username()}")

    def _list(self, user: User | None) -> None:
        qs = ApiToken.objects.select_related("user").order_by("-created_at")
        if user is not None:
            qs = qs.filter(user=user)
        for token in qs:
            if token.revoked_at:
                state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
            elif token.expires_at:
                state = f"{'expired' if token.is_expired() else 'expires'} {token.expires_at:%Y-%m-%d %H:%M}"
            else:
                state = "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(f"{token.prefix}  {token.user.get_username():<20} {state:<24} "
                              f"last used {used:<16} {token.name}")
