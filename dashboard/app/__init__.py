"""The app's own plumbing, under ``create_app``: settings, extensions, logs, mail, files,
the HTTP checks and errors every request shares, health and metrics, gunicorn's worker.

Pages (``web``), the HTTP API (``api``) and the commands (``cli``) sit on top of it.
"""
