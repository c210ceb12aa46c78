from datetime import UTC, datetime, timedelta

from dashboard.queries.hourly import HourCount
from dashboard.web.chart import stacked_bars
from dashboard.web.templating import span

T = datetime(2026, 1, 5, tzinfo=UTC)


def test_bars_stack_failed_on_succeeded_scaled_to_the_busiest_hour():
    chart = stacked_bars([HourCount(T, 10, 0), HourCount(T + timedelta(hours=1), 5, 5),
                          HourCount(T + timedelta(hours=2), 0, 0)], width=300, height=102)
    assert (chart.peak, chart.succeeded, chart.failed) == (10, 15, 5)
    first, second_ok, second_failed = chart.bars
    assert (first.kind, first.height, first.y) == ("succeeded", 100, 2)
    assert (second_ok.x, second_ok.height, second_ok.y) == (100, 50, 52)
    assert (second_failed.kind, second_failed.height, second_failed.y) == ("failed", 50, 2)
    assert "5 succeeded, 5 failed" in second_failed.label


def test_an_empty_chart_has_no_bars():
    chart = stacked_bars([HourCount(T, 0, 0)] * 24)
    assert chart.bars == [] and chart.peak == 0


def test_spans_read_like_an_operator_would_say_them():
    assert [span(s) for s in (0.25, 3, 250, 7300, 200000)] == [
        "250 ms", "3.0 s", "4 min 10 s", "2 h 1 min", "2 d 7 h"]
