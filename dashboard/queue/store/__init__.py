"""Jobs in the database: saved (at most one active per unique key), held back by a pause,
found due, claimed under a lease, and written step by step under that lease; the general
way of each and PostgreSQL's one statement, behind ``dialect``.

Above ``jobs`` and ``database``.
"""
