"""Every environment variable the project reads: its default, what it does, who reads it.

``app/config.py`` (and gunicorn's settings, and the container's entry point) read and check
the variables; this catalogue says what each one is for. The configuration reference of the
docs is made from it (``docs/hooks.py``), and ``tests/unit/test_variables.py`` fails when a
variable read by the code is missing here, or one listed here is read nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Who reads a variable: the processes it changes.
WEB = "web"              # the dashboard and the HTTP API, in gunicorn's workers
DIGEST = "digest"        # `flask digest`, by cron or as a --loop worker
COMMANDS = "commands"    # every other `flask --app dashboard ...` command
GUNICORN = "gunicorn"    # gunicorn's own settings (gunicorn.conf.py)
ENTRYPOINT = "entrypoint"  # the container's entry point (deploy/entrypoint.sh)
ALL = (WEB, DIGEST, COMMANDS)


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str
    read_by: tuple[str, ...]
    #: The heading of the docs that the variable belongs under.
    group: str


def _group(group: str, *rows: tuple[str, str, str, tuple[str, ...]]) -> list[Variable]:
    return [Variable(name, default, meaning, read_by, group)
            for name, default, meaning, read_by in rows]


VARIABLES: tuple[Variable, ...] = tuple([
    *_group(
        "The database and the app",
        ("DATABASE_URL", "`sqlite:///instance/asyncqueue.db`",
         "SQLAlchemy URL: `postgresql+psycopg://user@host/db`, `mysql+pymysql://user@host/db`",
         ALL),
        ("SECRET_KEY", "made once, kept in `instance/secret_key` (0600)",
         "signs sessions; at least 32 characters (`python3 -c 'import secrets; "
         "print(secrets.token_hex(32))'`), a shorter one stops start-up; the same on every "
         "web host", (WEB,)),
        ("QUEUE_TYPES", "(none)", "comma-separated modules that define request types", ALL),
    ),
    *_group(
        "The queue and the digest",
        ("QUEUE_MAX_ATTEMPTS", "`9`", "attempts of a request before it fails for good",
         (DIGEST,)),
        ("QUEUE_RETRY_DELAY", "`7200`", "seconds; the k-th retry waits (k - 1) x this",
         (DIGEST,)),
        ("QUEUE_MAX_JOBS_PER_RUN", "`500`", "jobs one digest run takes at most", (DIGEST,)),
        ("QUEUE_LEASE_SECONDS", "`300`",
         "how long a digest's claim on a job lasts without renewal", (DIGEST,)),
        ("QUEUE_CONCURRENCY", "`8`",
         "jobs one digest process runs at once, each in a thread (`--concurrency` for one "
         "run)", (DIGEST,)),
        ("QUEUE_DB_CONNECTIONS", "`8`",
         "database connections one digest process opens at most, whatever its concurrency: "
         "one for its session, the rest shared by its jobs in flight, claims and heartbeat "
         "(at least 2; SQLite uses one writer)", (DIGEST,)),
        ("QUEUE_DB_WAIT_SECONDS", "`60`",
         "seconds a digest waits for a connection the server refuses (\"too many clients\") "
         "or lost (a restart), trying again with backoff, before it exits 1", (DIGEST,)),
        ("QUEUE_CLOCK_SKEW_WARN", "`5`",
         "seconds a digest host's clock may differ from the database server's before the "
         "digest logs a warning (once a minute) and the Digests page shows it; leases and due "
         "times go by the database's clock whatever this says", (DIGEST, WEB)),
        ("QUEUE_REQUEST_TIMEOUT", "`300`",
         "seconds a request may run before the digest ends it as a failed attempt (\"timed "
         "out after N s\"); a type's own `timeout` attribute overrides it", (DIGEST, WEB)),
        ("QUEUE_LIMIT_WAIT", "`10`",
         "seconds a request waits for a turn at its connector's limits before its job is "
         "given back, due when the connector may have room", (DIGEST,)),
        ("QUEUE_SCHEDULE", "(none)",
         "a TOML file of recurring schedule entries; a bad file stops start-up", ALL),
        ("QUEUE_DIGEST_EXPECTED_SECONDS", "`180`",
         "with jobs due and no digest seen for this long, the dashboard shows a red alarm",
         (WEB,)),
        ("QUEUE_MASKED_KEYS", "`password,token,secret,api_key`",
         "payload and result keys whose values are masked: a key is masked when its name "
         "contains one of these words, ignoring case and `_`/`-` (`db_password`, "
         "`accessToken`, `X-Api-Key`)", ALL),
    ),
    *_group(
        "Failure alerts",
        ("QUEUE_ALERT_TO", "(none: no alerts)",
         "comma-separated recipients; checked by syntax only, so `ops@example.test` is "
         "fine; a bad one stops start-up, named", (DIGEST, COMMANDS)),
        ("QUEUE_ALERT_INTERVAL", "`900`", "seconds; at most one alert email per interval",
         (DIGEST, COMMANDS)),
        ("MAIL_DEFAULT_SENDER", "(required with `QUEUE_ALERT_TO`)",
         "the From address: `queue@example.com` or `AsyncQueue <queue@example.com>`",
         (DIGEST, COMMANDS)),
        ("DASHBOARD_URL", "(required with `QUEUE_ALERT_TO`)",
         "the dashboard's address, for the links of the emails and of the API's answers: "
         "`https://queue.example.com`; set it in every deployment, or the API's links "
         "follow the request's `Host` header", ALL),
        ("MAIL_SERVER", "`localhost`", "SMTP server", (DIGEST, COMMANDS)),
        ("MAIL_PORT", "`25`",
         "its port (often 587 with `MAIL_USE_TLS`, 465 with `MAIL_USE_SSL`)",
         (DIGEST, COMMANDS)),
        ("MAIL_USE_TLS", "`false`", "STARTTLS after connecting", (DIGEST, COMMANDS)),
        ("MAIL_USE_SSL", "`false`", "SMTPS from the start (not both)", (DIGEST, COMMANDS)),
        ("MAIL_TLS_VERIFY", "`true`",
         "check the mail server's certificate and name over SMTPS and STARTTLS; `false` "
         "turns the check off", (DIGEST, COMMANDS)),
        ("MAIL_CA_FILE", "(the system's CAs)",
         "a PEM file of the CA certificates to trust for the mail server instead of the "
         "system's", (DIGEST, COMMANDS)),
        ("MAIL_USERNAME", "(none)", "SMTP login, when `MAIL_PASSWORD` is set too",
         (DIGEST, COMMANDS)),
        ("MAIL_PASSWORD", "(none)", "SMTP password, with `MAIL_USERNAME`",
         (DIGEST, COMMANDS)),
        ("MAIL_TIMEOUT", "`10`", "seconds the whole SMTP conversation may take",
         (DIGEST, COMMANDS)),
    ),
    *_group(
        "The dashboard and the HTTP API",
        ("DASHBOARD_BULK_LIMIT", "`10000`",
         "jobs one bulk action over a filter changes at most", (WEB,)),
        ("DASHBOARD_SEARCH_TIMEOUT_MS", "`2000`",
         "a text search (`q` on the job list, the API and `jobs list`) stops after this many "
         "milliseconds and asks to narrow it (`400` naming `q`)", (WEB, COMMANDS)),
        ("DASHBOARD_POLL_SECONDS", "`5`",
         "how often the overview, the job list and a running job's page refresh", (WEB,)),
        ("DASHBOARD_PROXIES", "(none)",
         "addresses or networks of the reverse proxies in front of the dashboard, "
         "comma-separated (`127.0.0.1`, `10.0.0.0/8`): their `X-Forwarded-For`/`-Proto`/"
         "`-Host` are trusted, nobody else's", (WEB, GUNICORN)),
        ("DASHBOARD_SESSION_HOURS", "`12`",
         "a login session ends this long after login, however active", (WEB,)),
        ("DASHBOARD_SESSION_IDLE_MINUTES", "`60`",
         "and after this long without a request", (WEB,)),
        ("DASHBOARD_HTTPS_ONLY", "off",
         "on: the session cookie is always `Secure` (it is anyway on requests that came "
         "over HTTPS)", (WEB,)),
        ("DASHBOARD_RUN_SECONDS", "`20`",
         "how long \"Run now\" runs before it leaves the rest to the digest", (WEB,)),
        ("API_MAX_BODY", "`1048576`",
         "bytes; a larger body sent to the HTTP API gets `413`", (WEB,)),
        ("API_MAX_ELEMENTS", "`100000`",
         "JSON values (arrays, objects, and every item and member in them); a body sent to "
         "the HTTP API with more gets `413`, refused before it is parsed", (WEB,)),
        ("API_RATE_LIMIT", "`600 per minute`", "calls per API token, or `off`", (WEB,)),
        ("API_RATE_LIMIT_STORAGE", "a file in `instance/`",
         "where the counts are kept: any `limits` storage URL", (WEB,)),
    ),
    *_group(
        "Logs and metrics",
        ("LOG_FORMAT", "`plain`", "`plain` or `json`", (*ALL, GUNICORN)),
        ("LOG_LEVEL", "`INFO`",
         "`DEBUG`, `INFO`, `WARNING` or `ERROR`, for the app's own loggers", ALL),
        ("METRICS_TOKEN", "(none)", "turns `/metrics` on, behind this bearer token", (WEB,)),
        ("METRICS_WINDOW", "`300`", "seconds covered by the `*_recent` metrics", (WEB,)),
    ),
    *_group(
        "The web server and the container",
        ("PORT", "`8000`", "gunicorn listens on `0.0.0.0:PORT`", (GUNICORN, ENTRYPOINT)),
        ("WEB_CONCURRENCY", "`2`", "gunicorn worker processes", (GUNICORN,)),
        ("GUNICORN_TIMEOUT", "`60`",
         "seconds a worker's main loop may stall before it is restarted (a long request is "
         "not cut: \"Run now\" bounds itself)", (GUNICORN,)),
        ("GUNICORN_THREADS", "`16`", "threads per gunicorn worker", (GUNICORN,)),
        ("GRACEFUL_TIMEOUT", "`30`",
         "seconds requests in progress get to finish on SIGTERM", (GUNICORN,)),
        ("REQUEST_READ_TIMEOUT", "`10`",
         "seconds a client may stall while it sends a request before it is dropped",
         (GUNICORN, WEB)),
        ("DB_UPGRADE_TRIES", "`30`",
         "the entry point's tries of `db upgrade` before giving up", (ENTRYPOINT,)),
        ("DB_UPGRADE_INTERVAL", "`2`", "seconds between those tries", (ENTRYPOINT,)),
    ),
])


def by_name() -> dict[str, Variable]:
    return {variable.name: variable for variable in VARIABLES}
