"""gunicorn's settings, from the environment (see the README's "Deploy" section).

    gunicorn -c python:dashboard.gunicorn_conf "dashboard:create_app()"
"""

import os
import sys
from typing import NoReturn

from dashboard.app.config import LOG_FORMATS, ConfigError, check_environment, proxies
from dashboard.app.logs import gunicorn_logging
from dashboard.app.serving import read_timeout


def _stop(message: str) -> NoReturn:
    """A setting's error: one line and exit code 2, as every flask command does."""
    print(f"dashboard.gunicorn_conf: {message}", file=sys.stderr)
    raise SystemExit(2)


def _whole_number(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not (raw.isascii() and raw.isdigit()) or int(raw) < minimum:
        _stop(f"{name} must be a whole number of at least {minimum}, got {raw[:40]!r}")
    return int(raw)


_log_format = (os.environ.get("LOG_FORMAT", "").strip() or "plain").lower()
if _log_format not in LOG_FORMATS:
    _stop(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, got {_log_format!r}")
# The dashboard's own settings, checked here, once, before any worker starts: a worker
# that can't build the app logs a traceback, and gunicorn stops with "Worker failed to
# boot" (exit code 3).
try:
    check_environment()
except ConfigError as error:
    _stop(error.message)

# Every address of the container; publish the port, or put a proxy in front.
bind = f"0.0.0.0:{_whole_number('PORT', 8000, 1)}"
workers = _whole_number("WEB_CONCURRENCY", 2, 1)
# Threads, not one request per process: a slow or stalled client holds one thread, not a
# worker, and it is dropped after REQUEST_READ_TIMEOUT seconds without a byte (see
# dashboard/app/serving.py). 16 threads outnumber the connections a few clients can hold.
worker_class = "dashboard.app.serving.DashboardWorker"
threads = _whole_number("GUNICORN_THREADS", 16, 1)
try:
    read_timeout()  # the worker reads it; a wrong value stops gunicorn here, in one line
except ValueError as error:
    _stop(str(error))
# A threaded worker is restarted after this long only if its main loop stops (a request
# that runs long is not killed: "Run now" bounds itself, see DASHBOARD_RUN_SECONDS).
timeout = _whole_number("GUNICORN_TIMEOUT", 60, 1)
# On SIGTERM, requests in progress get this long to finish before workers are killed.
graceful_timeout = _whole_number("GRACEFUL_TIMEOUT", 30, 1)
keepalive = 5
# gunicorn believes X-Forwarded-Proto (and sets the request's scheme by it) from these
# addresses only: the proxies of DASHBOARD_PROXIES, as the app does, and nobody when it
# is unset (gunicorn's own default trusts 127.0.0.1, so any local process could claim
# HTTPS).
forwarded_allow_ips = ",".join(map(str, proxies(os.environ.get("DASHBOARD_PROXIES", ""))))
# Access log to standard output, errors to standard error, one line each (JSON lines
# with LOG_FORMAT=json).
accesslog = "-"
errorlog = "-"
logconfig_dict = gunicorn_logging(_log_format)
# No gunicornc control socket (gunicorn 25+): it would be made in $HOME, which the image's
# user can't write, and one path would be shared by every gunicorn of a user on a host.
control_socket_disable = True
# Workers' heartbeat files in memory: a container's /tmp may be a slow overlay.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
