"""What is done to stored jobs besides running them: an operator's actions (retry, pause,
resume, cancel, run now, delete), retention, recurring schedules and their switches, a
cron in words, and attempts counted for the charts and the metrics.

Above ``store``; the digest calls retention and the schedules on its runs.
"""
