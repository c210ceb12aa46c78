"""axe-core (vendored, see vendor/axe-LICENSE.txt) run inside a Playwright tab.

The source is evaluated through the DevTools protocol, which the page's Content-Security-
Policy does not govern, so the dashboard keeps its strict policy while it is checked.
"""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe-4.14.1.min.js"
#: The impacts the issue counts: what keeps someone from using the page.
BLOCKING = ("serious", "critical")


def violations(tab) -> list[dict]:
    """The serious and critical axe violations on the tab's page as it is now."""
    if not tab.evaluate("typeof window.axe !== 'undefined'"):
        tab.evaluate(AXE.read_text(encoding="utf-8"))
    found = tab.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))")
    return [v for v in found if v["impact"] in BLOCKING]


def count(found: list[dict]) -> int:
    """How many elements break a rule (axe's own count of violations by node)."""
    return sum(len(v["nodes"]) for v in found)


def describe(found: list[dict]) -> str:
    return "; ".join(f"{v['id']} ({v['impact']}) on {', '.join(v['nodes'][:3])}"
                     + (f" and {len(v['nodes']) - 3} more" if len(v["nodes"]) > 3 else "")
                     for v in found)
