"""What the Content-Security-Policy rules out, checked in the templates and the Python that
writes HTML: no hx-trigger filter (htmx evaluates ``[cond]`` with eval, which allowEval off
refuses: the filter would do nothing) and no style attribute (style-src-attr allows none)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))
HTML_WRITERS = sorted((ROOT / "taskboard").rglob("*.py"))


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", TEMPLATES, ids=relative)
def test_no_hx_trigger_has_a_filter(path: Path) -> None:
    triggers = re.findall(r'hx-trigger="([^"]*)"', path.read_text())
    assert [trigger for trigger in triggers if "[" in trigger] == []


@pytest.mark.parametrize("path", TEMPLATES + HTML_WRITERS, ids=relative)
def test_no_inline_style_attribute(path: Path) -> None:
    assert re.findall(r"""\bstyle=["'{\\]""", path.read_text()) == []


def test_the_scan_sees_the_files() -> None:
    assert len(TEMPLATES) > 20 and any(path.name == "progress.html" for path in TEMPLATES)
