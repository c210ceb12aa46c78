"""What the browser tests do on any page: log in, take a screenshot for the README."""

from __future__ import annotations

from pathlib import Path

from tests.browser import seed

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def log_in(tab, url: str, name: str) -> None:
    tab.goto(f"{url}/")
    assert "/login" in tab.url
    tab.fill("input[name=name]", name)
    tab.fill("input[name=password]", seed.PASSWORD)
    tab.click("button:has-text('Log in')")
    tab.wait_for_url(f"{url}/")


def screenshot(tab, name: str, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def focused(tab, settled: str = "") -> str:
    """What has the keyboard focus: tag, classes and text; with ``settled``, once that text
    is in it (htmx settles a swap, then focus.js moves the focus), or after 2 s."""
    for _ in range(20):
        now = tab.evaluate(
            "(() => { const e = document.activeElement; return e === document.body"
            " ? 'BODY' : `${e.tagName} ${e.className} ${e.textContent.trim()}`; })()")
        if settled in now:
            break
        tab.wait_for_timeout(100)
    return now


def click_bulk(tab, label: str, exact: bool = False) -> None:
    """Click a bulk action over the filter, unfolding the bulk menu first where a phone's
    page folds it."""
    menu = tab.locator("#bulk-menu")
    if menu.count() and menu.get_attribute("open") is None:
        tab.click("#bulk-menu > summary")
    how = "text-is" if exact else "has-text"
    tab.click(f".bulk-filter button:{how}('{label}')")
