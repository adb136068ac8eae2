"""What the Content-Security-Policy (no inline script or style, not even a style attribute)
leaves working in a real browser: progress bars sized from data-width, the API docs; and an
invalid filter field drawn in the error colour whatever its input type."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from taskboard.demo import steps
from tests.e2e.pages import wait_for_status

pytestmark = pytest.mark.django_db(transaction=True)

# The fill's share of the track, in percent, matches the bar's value (within a pixel or so).
FILL_MATCHES = """([least]) => {
    const bar = document.querySelector('[role=progressbar]');
    const fill = bar && bar.querySelector('.progress-fill');
    if (!fill) { return false; }
    const value = parseFloat(bar.getAttribute('aria-valuenow'));
    const share = 100 * fill.getBoundingClientRect().width / bar.getBoundingClientRect().width;
    return value >= least && Math.abs(share - value) < 2;
}"""


def test_the_progress_fill_follows_the_progress_through_live_updates(page, signed_in):
    run_id = steps.enqueue(steps=8, step_seconds=1.0).id
    wait_for_status(run_id, "running")
    page.goto(f"/dashboard/runs/{run_id}/")
    page.wait_for_function(FILL_MATCHES, arg=[1])  # drawn on the first paint of a running run
    page.wait_for_function(FILL_MATCHES, arg=[50])  # and after htmx swapped the live part in
    page.wait_for_function(FILL_MATCHES, arg=[100])
    assert page.problems.failed == []  # in particular, no style attribute refused by the CSP


def test_an_invalid_field_has_the_error_border_whatever_its_type(page, signed_in):
    page.goto("/dashboard/runs/?q=status:bogus&from=yesterday")
    danger = page.locator(".field-error").first.evaluate("el => getComputedStyle(el).color")
    for field in (page.locator("#id_q"), page.locator("#id_from")):  # search, datetime-local
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_css("border-top-color", danger)
    expect(page.locator("#id_task")).not_to_have_css("border-top-color", danger)  # a valid field


def test_the_api_docs_render_under_the_policy(page, signed_in):
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible()
    expect(page.locator(".opblock").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    refused = [problem for problem in page.problems.failed if re.search("Content Security Policy", problem)]
    assert refused == []
