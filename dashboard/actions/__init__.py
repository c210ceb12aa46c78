"""An operator's actions, audited: on one job (``one_job``) and over many (``bulk``).

The one code path behind the pages (``web.job_actions``, ``web.bulk_actions``), the HTTP
API and ``flask jobs ...`` (no Flask here). The state changes themselves, one
compare-and-set update per job, are the queue core's (``queue.operations.actions``).
"""
