"""Phones, long strings, dark mode, the keyboard, and how static files are served
(issue 14, items 10-14), in a real Chromium against gunicorn."""

from __future__ import annotations

import re

import pytest

from tests.browser import seed
from tests.support.browser import click_bulk, focused, log_in, screenshot

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def tab_for(browser, server):
    """A logged-in tab with the given context options; fails on any page error."""
    contexts, problems = [], []

    def make(user: str = seed.OPERATOR, **options):
        context = browser.new_context(**options)
        contexts.append(context)
        tab = context.new_page()
        tab.on("pageerror", lambda error: problems.append(str(error)))
        log_in(tab, server.url, user)
        return tab

    yield make
    for context in contexts:
        context.close()
    assert problems == []


def sideways(tab) -> int:
    """How far the page itself scrolls sideways, in CSS pixels (0: not at all)."""
    return tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_no_page_scrolls_sideways_on_a_phone(tab_for, server):
    tab = tab_for(seed.ADMIN, viewport=PHONE)
    jobs = server.jobs
    for path in ["/", "/jobs", "/jobs?state=failed", f"/jobs?relation={seed.LONG_TOKEN}",
                 f"/jobs/{jobs['failed']}", f"/jobs/{jobs['long']}", f"/jobs/{jobs['big']}",
                 "/audit", "/users", "/types", "/jobs/999999999"]:
        tab.goto(server.url + path)
        assert sideways(tab) <= 0, path
    tab.goto(f"{server.url}/jobs?state=failed")
    # The list's rows are cards instead (tests/browser/test_phone.py).
    assert tab.locator("tr[data-job]").first.evaluate(
        "e => getComputedStyle(e).display") == "block"
    tab.goto(server.url + "/")
    screenshot(tab, "phone.png")


def test_a_big_job_fits_a_phone(tab_for, server):
    tab = tab_for(viewport=PHONE)
    tab.goto(f"{server.url}/jobs/{server.jobs['big']}")
    assert sideways(tab) <= 0
    assert tab.locator("#job h1 .state").inner_text() == "failed"


def test_the_header_wraps_on_a_phone(tab_for, server):
    tab = tab_for(seed.ADMIN, viewport=PHONE)
    links = tab.locator("header.top a, header.top button")
    assert links.count() >= 6
    for box in (links.nth(n).bounding_box() for n in range(links.count())):
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert tab.locator("header.top").bounding_box()["height"] > 60  # more than one line


def test_long_unbroken_strings_stay_in_their_box(tab_for, server):
    tab = tab_for(viewport=PHONE)
    tab.goto(f"{server.url}/jobs/{server.jobs['long']}")
    assert seed.LONG_TOKEN in tab.inner_text("#job .fields")
    for selector in ("#job .fields dd", "pre.payload", "pre.error-text", "#job h1",
                     "#job .scroll", "table.attempts td:last-child"):
        for element in tab.locator(selector).all():
            box = element.bounding_box()
            inside = element.evaluate("e => e.closest('.scroll') !== null")
            assert inside or box["x"] + box["width"] <= PHONE["width"], selector
            # Wrapped, or scrolled inside the box: nothing spills out of it.
            assert element.evaluate(
                "e => e.scrollWidth <= e.clientWidth + 1 || "
                "['auto', 'scroll'].includes(getComputedStyle(e).overflowX)"), selector
    tab.goto(f"{server.url}/jobs?relation={seed.LONG_TOKEN}")
    assert sideways(tab) <= 0
    assert tab.locator("tr[data-job]").count() == 1
    for cell in (tab.locator("td.relation"), tab.locator("td.source")):
        assert cell.evaluate("e => e.scrollWidth <= e.clientWidth")  # wrapped, not cut
        assert cell.bounding_box()["width"] < 300
    assert seed.LONG_TOKEN in tab.inner_text("td.relation")


def luminance(colour: str) -> float:
    red, green, blue = (int(c) for c in re.findall(r"\d+", colour)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_scheme_follows_the_system(tab_for, server, scheme):
    tab = tab_for(color_scheme=scheme, viewport={"width": 1440, "height": 900})
    tab.goto(f"{server.url}/jobs/{server.jobs['failed']}")
    page = luminance(tab.evaluate("getComputedStyle(document.documentElement).backgroundColor"))
    panel = luminance(tab.locator(".request").first.evaluate(
        "e => getComputedStyle(e).backgroundColor"))
    ink = luminance(tab.evaluate("getComputedStyle(document.body).color"))
    if scheme == "dark":
        assert page < 0.2 and panel < 0.2 and ink > 0.8
        tab.goto(server.url + "/")
        screenshot(tab, "dark.png")
    else:
        assert page > 0.9 and panel > 0.9 and ink < 0.2


def test_focus_follows_an_htmx_action_and_escape_closes_the_confirmation(page, server):
    page.goto(f"{server.url}/jobs/{server.jobs['focus']}")
    page.click("#job-actions button:has-text('Cancel')")
    page.wait_for_selector("#job .confirm")
    assert focused(page, "Keep it").startswith("A ")
    page.keyboard.press("Escape")
    page.wait_for_selector("#job-actions button:has-text('Pause')")
    assert page.locator("#job .confirm").count() == 0
    # Back on the Cancel that opened it (not on Pause, which the next Enter would press).
    assert focused(page, "Cancel").startswith("BUTTON")
    page.click("#job-actions button:has-text('Pause')")
    page.wait_for_selector("#job h1 .state.paused")
    assert "flash" in focused(page, "is paused")
    page.click("#job-actions button:has-text('Resume')")
    page.wait_for_selector("#job h1 .state.pending")
    assert "flash" in focused(page, "is resumed")


def test_paging_the_list_keeps_the_focus_on_the_list(page, server):
    page.goto(f"{server.url}/jobs")
    page.focus("a[rel=next]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/jobs\?before=\d+"))
    assert focused(page, "#") != "BODY"
    assert page.evaluate("document.getElementById('job-list').contains(document.activeElement)")


def test_escape_leaves_a_bulk_confirmation(page, server):
    page.goto(f"{server.url}/jobs?state=failed")
    click_bulk(page, "Retry all")
    page.wait_for_selector(".confirm h1")
    assert focused(page, "Back to the list").startswith("A ")
    page.keyboard.press("Escape")
    page.wait_for_url(f"{server.url}/jobs?state=failed")
    # Back on the button that opened it.
    assert focused(page, "Retry all").startswith("BUTTON")


def test_the_skip_link_comes_first_and_leads_to_the_page(page, server):
    page.goto(f"{server.url}/jobs")
    page.keyboard.press("Tab")
    assert focused(page, "Skip to content").startswith("A ")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


def test_removing_a_user_asks_first(tab_for, server):
    tab = tab_for(seed.ADMIN)
    tab.goto(f"{server.url}/users")
    row = f"tr:has(td:text-is('{seed.DOOMED}'))"
    tab.click(f"{row} button:has-text('Remove')")
    assert f"Remove user {seed.DOOMED}?" in tab.inner_text(".confirm")
    tab.keyboard.press("Escape")
    tab.wait_for_url(f"{server.url}/users")
    assert tab.locator(".confirm").count() == 0 and tab.locator(row).count() == 1
    tab.click(f"{row} button:has-text('Remove')")
    tab.click(f".confirm button:has-text('Yes, remove {seed.DOOMED}')")
    assert f"Removed {seed.DOOMED}." in tab.inner_text(".flash.success")
    assert tab.locator(row).count() == 0


def test_static_files_are_fingerprinted_cached_and_pages_compressed(browser, server):
    context = browser.new_context()
    tab = context.new_page()
    seen = {}
    tab.on("response", lambda response: seen.__setitem__(response.url, response))
    tab.goto(f"{server.url}/login")
    page = seen[f"{server.url}/login"]
    assert page.all_headers()["content-encoding"] in ("br", "gzip")
    statics = [url for url in seen if "/static/" in url]
    assert len(statics) >= 3
    for url in statics:
        assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", url), url
        headers = seen[url].all_headers()
        assert int(re.search(r"max-age=(\d+)", headers["cache-control"]).group(1)) >= 31536000
    old = re.sub(r"\.[0-9a-f]{12}\.css$", ".000000000000.css",
                 next(u for u in statics if u.endswith(".css")))
    assert context.request.get(old).status == 404
    plain = context.request.get(f"{server.url}/login", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and "<form" in plain.text()
    context.close()
