"""The keyboard at 1440 and 390 px (issue 28, item 5): Escape gives the focus back to the
button that opened the confirmation, an action's message takes the focus after a full
page load too, and skip links lead to the jobs and to the bulk actions."""

from __future__ import annotations

import sqlite3

import pytest

from tests.browser import seed
from tests.support.browser import click_bulk, focused, log_in

WIDTHS = [1440, 390]


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def tab(request, browser, server):
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    log_in(page, server.url, seed.OPERATOR)
    yield page
    context.close()
    assert problems == []


def open_bulk_menu(tab) -> None:
    if tab.locator("#bulk-menu").get_attribute("open") is None:
        tab.click("#bulk-menu > summary")


def test_escape_gives_the_focus_back_to_the_cancel_button(tab, server):
    tab.goto(f"{server.url}/jobs/{server.jobs['focus']}")
    tab.focus("#job-actions button:has-text('Cancel')")
    tab.keyboard.press("Enter")
    tab.wait_for_selector("#job .confirm")
    assert focused(tab, "Keep it").startswith("A ")
    tab.keyboard.press("Escape")
    tab.wait_for_selector("#job .confirm", state="detached")
    assert focused(tab, "Cancel").startswith("BUTTON")
    assert "Cancel" in focused(tab) and "Pause" not in focused(tab)


def test_escape_from_a_bulk_confirmation_returns_to_its_button(tab, server):
    tab.goto(f"{server.url}/jobs?state=failed")
    open_bulk_menu(tab)
    click_bulk(tab, "Retry all")
    tab.wait_for_selector(".confirm h1")
    tab.keyboard.press("Escape")
    tab.wait_for_url(f"{server.url}/jobs?state=failed")
    assert focused(tab, "Retry all").startswith("BUTTON")


def test_after_a_bulk_action_the_focus_is_on_its_message(tab, server):
    source = f"keyboard-{tab.viewport_size['width']}"
    path = server.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO jobs (source_id, state, created_at, updated_at) VALUES "
                           "(?, 'paused', datetime('now'), datetime('now'))", (source,))
    tab.goto(f"{server.url}/jobs?source={source}")
    open_bulk_menu(tab)
    click_bulk(tab, "Resume all", exact=True)
    tab.wait_for_selector(".confirm h1")
    tab.click(".confirm button:has-text('Yes, resume 1 job')")
    tab.wait_for_selector("main .flash")
    assert "flash" in focused(tab, "resumed")


def test_skip_links_lead_to_the_jobs_and_the_bulk_actions(tab, server):
    tab.goto(f"{server.url}/jobs")
    tab.keyboard.press("Tab")
    assert focused(tab, "Skip to content").startswith("A ")
    tab.keyboard.press("Tab")
    assert focused(tab, "Skip to the jobs").startswith("A ")
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.activeElement.id") == "jobs-table"
    tab.goto(f"{server.url}/jobs")
    for _ in range(3):
        tab.keyboard.press("Tab")
    assert focused(tab, "Skip to the bulk actions").startswith("A ")
    tab.keyboard.press("Enter")
    assert tab.evaluate("document.activeElement.id") == "bulk-menu"
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.getElementById('bulk-menu').contains(document.activeElement)")
