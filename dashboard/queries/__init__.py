"""Read-only questions the dashboard (and the HTTP API) asks of the queue's tables.

Nothing here knows of Flask's request: filters come in as plain mappings or dataclasses,
and answers go out as rows and cursors.
"""
