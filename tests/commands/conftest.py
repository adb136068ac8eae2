"""Helpers for the management command tests."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO
from typing import Any

from django.core.management import call_command


@dataclass
class Output:
    out: str
    err: str

    @property
    def last_line(self) -> str:
        return self.out.rstrip("\n").splitlines()[-1]


def run(*args: Any) -> Output:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return Output(out.getvalue(), err.getvalue())
