"""Cron expressions in words, as the Schedules page says them."""

import pytest

from dashboard.queue.operations.cron_words import describe


@pytest.mark.parametrize(("cron", "words"), [
    ("* * * * *", "every minute"),
    ("*/2 * * * *", "every 2 minutes"),
    ("*/1 * * * *", "every minute"),
    ("5 * * * *", "every hour at minute 5"),
    ("0 */6 * * *", "every 6 hours at minute 0"),
    ("0 3 * * *", "every day at 03:00"),
    ("30 8,20 * * *", "every day at 08:30 and 20:30"),
    ("30 9 * * 1-5", "every weekday (Monday to Friday) at 09:30"),
    ("30 9 * * MON-FRI", "every weekday (Monday to Friday) at 09:30"),
    ("0 9 * * 1,5", "every Monday and Friday at 09:00"),
    ("0 9 * * 7", "every Sunday at 09:00"),
    ("15 2 1 * *", "on the 1st of every month at 02:15"),
    ("0 0 1,15 * *", "on the 1st and 15th of every month at 00:00"),
    ("0 12 25 12 *", "on the 25th of December at 12:00"),
    ("0 0 29 2 *", "on the 29th of February at 00:00"),
    # Anything else: each field named.
    ("5-10 3 * * *", "minute 5-10, hour 3"),
    ("0 9 * jan-mar 1", "minute 0, hour 9, month 1-3, weekday 1"),
])
def test_an_expression_in_words(cron, words):
    assert describe(cron) == words
