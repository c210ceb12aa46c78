"""What each database needs of a connection, and how it is spoken to: an engine's set-up,
SQLite's write lock and its log kept in bounds, the driver path for a statement sent
alone, where PostgreSQL's one-statement way gives way, and how a waiting digest learns of
new work.

Above ``jobs`` (the wakeup polls the jobs table); below every part that writes.
"""
