"""Every dashboard page in a real browser: axe-core finds nothing in the light or the dark
scheme, nothing is wider than a phone, tables fit a laptop, and a screenshot of each page goes
to ``$TASKBOARD_ARTIFACTS`` (default ``test-artifacts/``) with the axe report (``axe.json``).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, get_resolver
from playwright.sync_api import expect

from tests.e2e.conftest import artifacts_dir, axe_violations, describe_violations, password_of
from tests.e2e.pages import Page, Seed, every_page, seed_every_state, uncovered_page_names

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 900}


def dashboard_url_names() -> list[str]:
    resolver = get_resolver().namespace_dict["taskboard"][1]
    return [pattern.name for pattern in resolver.url_patterns if isinstance(pattern, URLPattern) and pattern.name]


def visit(page: Any, target: Page) -> None:
    page.goto(target.url)
    expect(page.get_by_role("heading", level=1)).to_contain_text(target.heading)
    page.wait_for_load_state("networkidle")
    assert page.problems.failed == [], target.name  # nothing refused by the CSP, no script error


def test_every_dashboard_page_is_walked_through():
    ids = [str(uuid.uuid4()) for _ in range(6)]
    seed = Seed(*ids, fingerprint="0123456789abcdef")
    assert uncovered_page_names(every_page(seed), dashboard_url_names()) == set()


def test_axe_finds_no_violation_on_any_page_in_either_scheme(page, signed_in, axe_script):
    seed = seed_every_state()
    pages = [Page("login", "", "/accounts/login/", "Sign in"), *every_page(seed)]
    report: dict[str, list[dict[str, Any]]] = {}
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for target in pages:
            visit(page, target)
            report[f"{target.name} ({scheme})"] = axe_violations(page, axe_script)
        # Two dialogs: the keyboard shortcuts and a bulk action's confirmation.
        visit(page, pages[1])
        page.keyboard.press("?")
        expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
        report[f"shortcuts dialog ({scheme})"] = axe_violations(page, axe_script)
        visit(page, Page("dead-letters", "dead-letters", "/dashboard/dead-letters/", "Dead letters"))
        page.get_by_role("checkbox", name="Select all dead letters on this page").check()
        page.get_by_role("button", name="Replay", exact=True).click()
        expect(page.get_by_role("dialog")).to_contain_text("Replay")
        report[f"confirm dialog ({scheme})"] = axe_violations(page, axe_script)

    path = artifacts_dir() / "axe.json"
    path.write_text(json.dumps(report, indent=2))
    for name, violations in report.items():
        print(f"axe {name}: {len(violations)} violation(s)")
    assert {name: v for name, v in report.items() if v} == {}, describe_violations(report)


def overflowing(page: Any, size: dict[str, int], measure: str) -> dict[str, Any]:
    """Each page, at ``size``, whose ``measure`` (a JS function) finds something too wide."""
    seed = seed_every_state()
    page.set_viewport_size(size)
    found = {}
    for target in every_page(seed):
        visit(page, target)
        if result := page.evaluate(measure):
            found[target.name] = result
    return found


def test_no_page_is_wider_than_a_phone(page, signed_in):
    # The page itself never scrolls sideways (wide tables scroll inside their own box), and
    # every main navigation link, the last one (Admin) too, is on screen.
    too_wide = overflowing(page, PHONE, """() => {
        const width = document.documentElement.clientWidth;
        const off = Array.from(document.querySelectorAll('.mainnav a'))
            .filter(link => link.getBoundingClientRect().right > width).map(link => link.textContent);
        const page = document.documentElement.scrollWidth;
        return page > width || off.length ? {page, off} : null;
    }""")
    assert too_wide == {}


def test_tables_fit_a_laptop_screen(page, signed_in):
    clipped = overflowing(page, LAPTOP, """() => Array.from(document.querySelectorAll('.table-wrap'))
        .filter(wrap => wrap.scrollWidth > wrap.clientWidth)
        .map(wrap => `${wrap.scrollWidth} in ${wrap.clientWidth}`).join(', ')""")
    assert clipped == {}


def test_screenshots_of_every_page(page, operator: User):
    seed = seed_every_state()
    folder = artifacts_dir()
    shots: list[tuple[str, str]] = []

    def shoot(name: str, target: Page) -> None:
        visit(page, target)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000  # a rendered page, not a blank
        shots.append((str(path), target.url))

    shoot("login", Page("login", "", "/accounts/login/", "Sign in"))
    page.get_by_label("Username").fill(operator.get_username())
    page.get_by_label("Password").fill(password_of(operator))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    pages = every_page(seed)
    for target in pages:
        shoot(target.name, target)
    page.emulate_media(color_scheme="dark")
    for target in pages:
        shoot(f"dark-{target.name}", target)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size(PHONE)
    for target in pages:
        shoot(f"phone-{target.name}", target)

    index = folder / "screenshots.txt"
    index.write_text("".join(f"{path}\t{url}\n" for path, url in shots))
    print(f"screenshot index: {index}")
    assert len(shots) == 1 + 3 * len(pages)
