"""The overview's charts have axes (issue 28, item 12): the time along the bottom, in UTC,
and attempts per minute or hour up the side, readable at 1440 and at 390 px."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest

from tests.browser import seed
from tests.support.browser import SCREENSHOTS, log_in


@pytest.mark.parametrize("width", [1440, 390])
def test_every_chart_has_a_time_axis_and_labels(browser, server, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    try:
        log_in(tab, server.url, seed.OPERATOR)
        charts = tab.locator("figure.bars")
        assert charts.count() == 3
        # The strip of the last hour (a mark every ten minutes), the last day, the week.
        for n, (pattern, marks, scale) in enumerate([
                (r"^\d\d:\d0$", {6}, r"^[\d,]+$"), (r"^\d\d:00$", {4}, r"^[\d,]+/h$"),
                (r"^\w{3} \d\d$", {6, 7}, r"^[\d,]+/h$")]):
            chart = charts.nth(n)
            ticks = chart.locator(".time-axis .tick")
            labels = ticks.all_inner_texts()
            assert len(labels) in marks and all(re.match(pattern, t) for t in labels), labels
            figure = chart.bounding_box()
            boxes = [ticks.nth(k).bounding_box() for k in range(ticks.count())]
            # In order, inside the chart, none over the next.
            for box, after in pairwise(boxes):
                assert box["x"] + box["width"] <= after["x"] + 1
            assert all(figure["x"] <= b["x"] <= figure["x"] + figure["width"] for b in boxes)
            assert re.match(scale, chart.locator(".value-axis span").first.inner_text())
            assert "UTC" in chart.locator(".axis-note").inner_text()
        # The strip's line of requests in flight, over its bars.
        assert charts.first.locator("polyline.in-flight").count() == 1
        if width == 1440:
            charts.nth(1).screenshot(path=str(SCREENSHOTS / "chart-axes.png"))
            charts.first.screenshot(path=str(SCREENSHOTS / "throughput-strip.png"))
    finally:
        context.close()
