"""axe-core finds no serious or critical violation on any page or state, light and dark,
wide and narrow (issue 14, item 12)."""

from __future__ import annotations

import pytest

from tests.browser import axe, seed
from tests.browser.action_jobs import accessibility_jobs
from tests.support.browser import click_bulk, log_in


def visit(tab, server) -> dict[str, list[dict]]:
    """Every page and state an operator or admin meets, with what axe finds on each."""
    url = server.url
    found: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        found[name] = axe.violations(tab)

    tab.goto(f"{url}/login")
    check("login")
    log_in(tab, url, seed.ADMIN)
    check("overview")
    for name, path in [("jobs", "/jobs"), ("failed list", "/jobs?state=failed"),
                       ("long strings list", f"/jobs?relation={seed.LONG_TOKEN}"),
                       ("empty list", "/jobs?source=no-such-source"),
                       ("failed job", f"/jobs/{server.jobs['failed']}"),
                       ("long strings job", f"/jobs/{server.jobs['long']}"),
                       ("audit", "/audit"), ("users", "/users"), ("not found", "/jobs/999999999"),
                       ("bad filter", "/jobs?before=x"), ("digests", "/digests"),
                       ("blocked list", "/jobs?waiting=blocked"), ("schedules", "/schedules"),
                       ("types", "/types"), ("types, last 24 hours", "/types?window=24h")]:
        tab.goto(url + path)
        check(name)
    tab.goto(f"{url}/jobs/{server.jobs['a11y']}")
    tab.click("#job-actions button:has-text('Cancel')")
    tab.wait_for_selector("#job .confirm")
    check("cancel confirmation")
    tab.click("#job .confirm a:has-text('Keep it')")
    tab.wait_for_selector("#job .confirm", state="detached")
    tab.locator("#job-actions button:text-matches('^(Pause|Resume)$')").click()
    tab.wait_for_selector("#job .flash")
    check("job after an action")
    tab.goto(f"{url}/jobs?state=failed")
    if tab.locator("#bulk-menu").get_attribute("open") is None:  # folded on a phone
        tab.click("#filter-fold > summary")
        tab.click("#bulk-menu > summary")
        check("filters and bulk actions unfolded")
    click_bulk(tab, "Retry all")
    tab.wait_for_selector(".confirm h1")
    check("bulk confirmation")
    _action_states(tab, server, check)
    tab.goto(f"{url}/users")
    tab.click(f"tr:has(td:text-is('{seed.VIEWER}')) button:has-text('Remove')")
    tab.wait_for_selector(".confirm")
    check("remove user confirmation")
    return found


def _action_states(tab, server, check) -> None:
    """A followed bulk action, the permanent and typed confirmations, a job's delete
    confirmation, and a header search without a match (nothing is confirmed)."""
    url, jobs = server.url, accessibility_jobs(server)
    tab.goto(f"{url}/jobs?audit={jobs['a11y-entry']}")
    check("followed action")
    tab.goto(f"{url}/jobs?source=a11y-permanent")
    click_bulk(tab, "Retry all")
    tab.wait_for_selector(".confirm .permanent-warning")
    check("permanent confirmation")
    tab.click(".confirm button:has-text('Yes, retry')")
    tab.wait_for_selector(".confirm h1:has-text('anyway?')")
    check("permanent confirmation, asked once more")
    tab.goto(f"{url}/jobs?source=a11y-typed")
    click_bulk(tab, "Cancel all")
    tab.wait_for_selector("#typed-count")
    check("typed confirmation")
    tab.fill("#typed-count", "3")
    tab.click(".confirm button:has-text('Yes, cancel')")
    tab.wait_for_selector("#typed-problem")
    check("typed confirmation, mistyped")
    tab.goto(f"{url}/jobs/{jobs['a11y-finished']}")
    tab.click("#job-actions button:has-text('Delete')")
    tab.wait_for_selector("#job .confirm")
    check("delete confirmation")
    tab.goto(f"{url}/go?q=nothing-is-called-so")
    check("header search without a match")


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1440, 390])
def test_axe_finds_nothing_serious(browser, server, scheme, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    tab = context.new_page()
    try:
        found = visit(tab, server)
    finally:
        context.close()
    counts = {name: axe.count(v) for name, v in found.items()}
    print(f"axe {scheme} {width}px: {sum(counts.values())} serious/critical: {counts}")
    assert {name: axe.describe(v) for name, v in found.items() if v} == {}
