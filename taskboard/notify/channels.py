"""Where notifications go: a webhook signed per Standard Webhooks, e-mail through Django's mail
framework, and chat/paging services through Apprise URLs. Each call sends one message or
raises: ``ChannelError`` when trying again may help (the delivery run retries with backoff),
``ChannelRefused`` (a ``PermanentError``) when the receiver refused this very message. Error
messages name the channel and host, never a secret, a token or the message.

Webhooks use the standard library (``urllib``) with a timeout and no redirects (a signed POST
must reach the URL it was configured for); HTTP 408, 409, 425, 429 and 5xx are retried, any
other 4xx is refused (the same bytes would get the same answer).
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks import Webhook

from taskboard.exceptions import PermanentError

RETRY_STATUSES = frozenset({408, 409, 425, 429})
USER_AGENT = "taskboard-webhooks/1"


class ChannelError(Exception):
    """The channel could not take the message now (unreachable, timed out, 5xx): retried."""


class ChannelRefused(PermanentError):
    """The channel refused the message (4xx, bad recipients, unusable URL): not retried."""


def body_bytes(event: str, timestamp: str, data: Mapping[str, Any]) -> bytes:
    """The webhook body: ``{"type", "timestamp", "data"}``, compact JSON (what is signed)."""
    return json.dumps({"type": event, "timestamp": timestamp, "data": data},
                      separators=(",", ":"), ensure_ascii=False).encode()


def events_body(timestamp: str, subscription: int, events: str) -> bytes:
    """A subscription's ``run.events`` body, ``{"type", "timestamp", "data": {"subscription",
    "events"}}`` as ``body_bytes`` writes it, with ``events`` already JSON (an array's text,
    as stored) put in as it is instead of decoded and encoded again."""
    head = json.dumps({"type": "run.events", "timestamp": timestamp}, separators=(",", ":"), ensure_ascii=False)
    return f'{head[:-1]},"data":{{"subscription":{int(subscription)},"events":{events}}}}}'.encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx surfaces as an HTTPError


_opener = urllib.request.build_opener(_NoRedirects)


def post_signed(url: str, secret: str, message_id: str, body: bytes, timeout: float) -> int:
    """POST ``body`` to ``url`` with the ``webhook-id``, ``webhook-timestamp`` and
    ``webhook-signature`` headers of the Standard Webhooks spec; the answer's status."""
    sent_at = datetime.now(UTC)
    signature = Webhook(secret).sign(message_id, sent_at, body.decode())
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "webhook-id": message_id, "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    })
    where = f"webhook {urlsplit(url).hostname}"
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(65536)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        if exc.code in RETRY_STATUSES or exc.code >= 500:
            raise ChannelError(f"{where} answered HTTP {exc.code}") from None
        raise ChannelRefused(f"{where} refused the delivery with HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise ChannelError(f"{where} unreachable: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, malformed answers
        raise ChannelError(f"{where} failed: {type(exc).__name__}: {exc}") from None


def send_email(recipients: list[str], subject: str, text: str) -> None:
    """One message to every recipient through Django's default mailer (``MAILERS``; its
    ``timeout`` bounds the SMTP conversation)."""
    import smtplib

    from django.core.mail import EmailMessage

    try:
        EmailMessage(subject, text, to=recipients).send()
    except smtplib.SMTPRecipientsRefused:
        raise ChannelRefused("email: the mail server refused every recipient") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"email: {type(exc).__name__}: {str(exc)[:200]}") from None


def send_apprise(url: str, title: str, text: str, firing: bool) -> None:
    import apprise

    scheme = url.split("://", 1)[0]
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise ChannelRefused(f"apprise {scheme}: the URL is not usable")
    kind = apprise.NotifyType.FAILURE if firing else apprise.NotifyType.SUCCESS
    with apprise.LogCapture(level=logging.WARNING) as logs:
        sent = notifier.notify(title=title, body=text, notify_type=kind)
    if not sent:
        lines = [line.strip() for line in logs.getvalue().splitlines() if line.strip()]
        raise ChannelError(f"apprise {scheme}: {lines[-1][:200] if lines else 'not sent'}")
