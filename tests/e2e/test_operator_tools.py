"""What operators asked for beside the pages: keyboard shortcuts, pausing live updates, dark
mode, the API docs link, and user content that cannot disguise itself with bidi controls."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from taskboard.demo import fail
from taskboard.models import Status
from tests.cache_helpers import forget_dashboard_cache
from tests.e2e.pages import HOSTILE_MESSAGE, wait_for_status

pytestmark = pytest.mark.django_db(transaction=True)

POLLS = re.compile(r"/dashboard/panels/[a-z]+/$")
FIVE_OR_MORE = re.compile(r"^([5-9]|\d{2,})$")


def nav(page: Any) -> Any:
    return page.get_by_role("navigation", name="Main")


def test_g_then_a_letter_opens_a_page(page, signed_in):
    page.goto("/dashboard/")
    for keys, path, heading in (("r", "/dashboard/runs/", "Runs"), ("f", "/dashboard/failures/", "Failures"),
                                ("d", "/dashboard/dead-letters/", "Dead letters"),
                                ("w", "/dashboard/workers/", "Workers"), ("o", "/dashboard/", "Overview")):
        page.keyboard.press("g")
        page.keyboard.press(keys)
        expect(page).to_have_url(re.compile(f"{re.escape(path)}$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def test_shortcuts_do_not_fire_while_typing(page, signed_in):
    page.goto("/dashboard/runs/")
    search = page.get_by_role("searchbox").first
    search.click()
    page.keyboard.type("g o ?")
    expect(search).to_have_value("g o ?")
    expect(page).to_have_url(re.compile(r"/dashboard/runs/"))
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_hidden()


def test_question_mark_lists_the_shortcuts(page, signed_in):
    page.goto("/dashboard/workers/")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for label in ("Overview", "Runs", "Failures", "Dead letters", "Workers", "Pause or resume live updates"):
        expect(dialog).to_contain_text(label)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(dialog).to_be_visible()


def test_slash_focuses_the_search(page, signed_in):
    page.goto("/dashboard/dead-letters/")
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox").first).to_be_focused()


def test_pausing_live_updates_stops_polling_and_holds_across_pages(page, signed_in):
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url) if POLLS.search(request.url) else None)
    page.goto("/dashboard/")
    page.wait_for_event("request", lambda request: POLLS.search(request.url) is not None)  # it polls

    page.get_by_role("button", name="Pause updates").click()
    expect(page.get_by_role("button", name="Resume updates")).to_be_visible()
    sent = len(polls)
    # Each panel's next poll is held back (taskboard/live.js counts them): five panels.
    # (Waited on from here: page.wait_for_function evaluates a string, which the CSP forbids.)
    held = page.locator("html")
    expect(held).to_have_attribute("data-held-polls", FIVE_OR_MORE)
    assert len(polls) == sent

    page.reload()  # kept in localStorage
    expect(page.get_by_role("button", name="Resume updates")).to_be_visible()
    expect(held).to_have_attribute("data-held-polls", FIVE_OR_MORE)
    assert len(polls) == sent

    page.keyboard.press("p")  # the shortcut resumes
    expect(page.get_by_role("button", name="Pause updates")).to_be_visible()
    page.wait_for_event("request", lambda request: POLLS.search(request.url) is not None)
    assert len(polls) > sent


def test_dark_mode_follows_the_system_setting(page, signed_in):
    page.emulate_media(color_scheme="light")
    page.goto("/dashboard/")
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="dark")
    expect(page.locator("body")).not_to_have_css("background-color", light)
    dark = page.evaluate("getComputedStyle(document.body).backgroundColor")
    channels = [int(c) for c in re.findall(r"\d+", dark)[:3]]
    assert max(channels) < 40  # a dark page, not just a different light one
    panel = page.locator(".panel").first
    assert panel.evaluate("el => getComputedStyle(el).color") != "rgb(29, 35, 48)"  # light text


def test_the_api_docs_are_one_click_away(page, signed_in):
    page.goto("/dashboard/")
    nav(page).get_by_role("link", name="API docs").click()
    expect(page).to_have_url(re.compile(r"/api/docs$"))


def test_a_right_to_left_override_shows_as_its_escape(page, signed_in):
    run_id = fail.enqueue(message=HOSTILE_MESSAGE).id
    wait_for_status(run_id, Status.FAILED)
    forget_dashboard_cache()
    shown = "e2e refund \\u202eexe.pdf <b>not bold</b>"
    for url in ("/dashboard/", "/dashboard/failures/", "/dashboard/dead-letters/"):
        page.goto(url)
        expect(page.get_by_text(shown).first).to_be_visible()
        assert "\u202e" not in page.locator("main").inner_text()
