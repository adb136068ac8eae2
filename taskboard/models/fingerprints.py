"""Failure fingerprints: failures that differ only in numbers, ids and quoted values group."""

from __future__ import annotations

import hashlib
import re

_FINGERPRINT_PATTERNS = [
    (re.compile(r"'[^']*'|\"[^\"]*\""), "?"),  # quoted values
    (re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.I), "#"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "#"),
    (re.compile(r"\d+(\.\d+)?"), "#"),  # numbers and ids
    (re.compile(r"\s+"), " "),
]


def normalise_message(message: str) -> str:
    text = message[:2000]
    for pattern, replacement in _FINGERPRINT_PATTERNS:
        text = pattern.sub(replacement, text)
    return text.strip()


def fingerprint(task: str, exception: str, message: str) -> str:
    """Groups failures that differ only in numbers, ids and quoted values."""
    key = "\x1f".join((task, exception, normalise_message(message)))
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]
