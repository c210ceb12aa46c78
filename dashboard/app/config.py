"""Settings from the environment, with defaults; a bad value stops start-up with a clear message."""

from __future__ import annotations

import importlib
import ipaddress
import math
import os
import re
import secrets
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
import sqlalchemy.exc
from limits import parse_many

from ..queue.jobs.masking import DEFAULT_WORDS
from . import extras, files


class ConfigError(click.ClickException, ValueError):
    """A setting from the environment is missing or wrong; the message names it.

    Also a ClickException, so that every ``flask`` command (they all build the app first)
    prints it as one line, ``Error: NAME ...``, and exits 2 instead of a traceback.
    """

    exit_code = 2


#: The smallest SECRET_KEY taken: shorter ones can be guessed offline from one session cookie.
MIN_SECRET_KEY_LENGTH = 32


def _number(env: dict[str, str], name: str, default: float, *, kind: type = int,
            minimum: float = 0) -> Any:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw[:40]!r}") from None
    if not math.isfinite(value):  # float() takes "nan" and "inf"
        raise ConfigError(f"{name} must be a finite number, got {raw!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


#: Syntax only (no DNS): something@domain.tld, so ``.test`` and ``.example`` domains pass.
ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _flag(env: dict[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    # The message of old, which scripts may match; the README lists every spelling taken.
    raise ConfigError(f"{name} must be true or false, got {env[name][:40]!r}")


def addresses(raw: str | list[str], name: str = "QUEUE_ALERT_TO") -> list[str]:
    """A comma-separated list of email addresses, trimmed; ConfigError names a bad one."""
    items = raw.split(",") if isinstance(raw, str) else raw
    found = [item.strip() for item in items if item.strip()]
    for address in found:
        if not ADDRESS.fullmatch(address):
            raise ConfigError(f"{name}: {address!r} is not an email address")
    return found


def _address(env: dict[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    # "Queue <queue@example.test>" is allowed for the sender.
    bare = raw[raw.index("<") + 1:-1] if raw.endswith(">") and "<" in raw else raw
    addresses(bare, name)
    return raw


def mail_settings(env: dict[str, str]) -> dict[str, Any]:
    """The failure alerts' settings: recipients, sender, SMTP server, timeout, throttle."""
    recipients = addresses(env.get("QUEUE_ALERT_TO", ""))
    if recipients:
        _need("flask_mail", "QUEUE_ALERT_TO (failure alert emails)")
    settings = {
        "QUEUE_ALERT_TO": recipients,
        "QUEUE_ALERT_INTERVAL": _number(env, "QUEUE_ALERT_INTERVAL", 900.0, kind=float),
        "DASHBOARD_URL": (env.get("DASHBOARD_URL") or "").strip().rstrip("/") or None,
        "MAIL_DEFAULT_SENDER": _address(env, "MAIL_DEFAULT_SENDER"),
        "MAIL_SERVER": (env.get("MAIL_SERVER") or "").strip() or "localhost",
        "MAIL_PORT": _number(env, "MAIL_PORT", 25, minimum=1),
        "MAIL_USE_TLS": _flag(env, "MAIL_USE_TLS"),
        "MAIL_USE_SSL": _flag(env, "MAIL_USE_SSL"),
        "MAIL_TLS_VERIFY": _flag(env, "MAIL_TLS_VERIFY", default=True),
        "MAIL_CA_FILE": (env.get("MAIL_CA_FILE") or "").strip() or None,
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_TIMEOUT": _number(env, "MAIL_TIMEOUT", 10.0, kind=float, minimum=0.1),
    }
    check_mail_settings(settings)
    return settings


def check_mail_settings(settings: dict[str, Any]) -> None:
    """Settings that contradict each other, or alerts that could not be sent as configured."""
    if settings["MAIL_USE_TLS"] and settings["MAIL_USE_SSL"]:
        raise ConfigError("MAIL_USE_TLS and MAIL_USE_SSL can't both be on: STARTTLS (often "
                          "port 587) or SMTPS (often port 465), not both")
    ca_file = settings.get("MAIL_CA_FILE")
    if ca_file is not None and not os.access(ca_file, os.R_OK):
        raise ConfigError(f"MAIL_CA_FILE: can't read {ca_file!r} (a PEM file of the CA "
                          "certificates that sign the mail server's)")
    url = settings["DASHBOARD_URL"]
    if url is not None and not re.match(r"https?://[^/\s]+", url):
        raise ConfigError(f"DASHBOARD_URL must start with http:// or https://, got {url!r}")
    if settings["QUEUE_ALERT_TO"]:
        if not settings["MAIL_DEFAULT_SENDER"]:
            raise ConfigError("QUEUE_ALERT_TO is set but MAIL_DEFAULT_SENDER is not: alert "
                              "emails need a sender address")
        if url is None:
            raise ConfigError("QUEUE_ALERT_TO is set but DASHBOARD_URL is not: alert emails "
                              "link to the dashboard, e.g. DASHBOARD_URL=https://queue.example.com")


def _need(module: str, needed_for: str) -> None:
    """An optional part a setting needs: ConfigError naming the extra when it is missing."""
    try:
        extras.need(module, needed_for)
    except extras.MissingExtra as missing:
        raise ConfigError(str(missing)) from None


def database_url(url: str) -> str:
    """Ask MariaDB and MySQL for full UTF-8 unless the URL says otherwise."""
    try:
        parsed = sa.make_url(url)
        dialect = parsed.get_dialect()  # an unknown database kind is a setting's error
    except (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError, ValueError):
        raise ConfigError("DATABASE_URL is not a database URL SQLAlchemy knows (e.g. "
                          "postgresql+psycopg://user@host/db)") from None
    try:
        dialect.import_dbapi()  # its driver: an extra of the install, said now too
    except ModuleNotFoundError as error:
        if error.name not in extras.EXTRAS:
            raise
        raise ConfigError(str(extras.MissingExtra(error.name, "DATABASE_URL"))) from None
    if parsed.get_backend_name() in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed.render_as_string(hide_password=False)


def from_environment(instance_path: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Every setting; SECRET_KEY, when not set, is made once and kept in the instance folder."""
    found = settings(instance_path, env)
    if found["SECRET_KEY"] is None:
        found["SECRET_KEY"] = _instance_secret(instance_path)
    return found


def instance_folder() -> str:
    """The instance folder: ``instance/`` in the working folder. It holds the SQLite file
    when DATABASE_URL is not set and the generated SECRET_KEY; never the package's folder,
    which may be inside a virtualenv or a read-only image."""
    return str(Path.cwd() / "instance")


def check_environment() -> None:
    """Read every setting of this process's environment; ConfigError names a wrong one."""
    found = settings(instance_folder())
    import_types(found["QUEUE_TYPES"])
    from ..queue import load_types
    load_types()  # the installed packages' types too: the schedule may name them
    schedule_entries(found["QUEUE_SCHEDULE"])


def schedule_entries(path: str | None) -> tuple:
    """QUEUE_SCHEDULE's entries, checked against the registered request types (so import
    those first); ConfigError names the entry and the field that are wrong."""
    if path is None:
        return ()
    from ..queue import registry
    from ..queue.operations import recurring
    try:
        return recurring.load(path, registry.__contains__)
    except recurring.ScheduleError as error:
        raise ConfigError(str(error)) from None


def import_types(modules: list[str]) -> None:
    """Import the modules of QUEUE_TYPES (they register their request types)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ConfigError(f"QUEUE_TYPES: can't import {name!r}: {error}") from None


def settings(instance_path: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Every setting read and checked, without touching any file (gunicorn's master checks
    them before it starts workers); SECRET_KEY is None when not set."""
    env = dict(os.environ if env is None else env)
    default_db = "sqlite:///" + str(Path(instance_path) / "asyncqueue.db")
    return {
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("DATABASE_URL") or default_db),
        "SECRET_KEY": _secret_key(env),
        "QUEUE_TYPES": [m.strip() for m in env.get("QUEUE_TYPES", "").split(",") if m.strip()],
        "QUEUE_MAX_ATTEMPTS": _number(env, "QUEUE_MAX_ATTEMPTS", 9, minimum=1),
        "QUEUE_RETRY_DELAY": _number(env, "QUEUE_RETRY_DELAY", 7200.0, kind=float),
        "QUEUE_MAX_JOBS_PER_RUN": _number(env, "QUEUE_MAX_JOBS_PER_RUN", 500, minimum=1),
        "QUEUE_LEASE_SECONDS": _number(env, "QUEUE_LEASE_SECONDS", 300.0, kind=float,
                                       minimum=1),
        "QUEUE_LIMIT_WAIT": _number(env, "QUEUE_LIMIT_WAIT", 10.0, kind=float),
        "QUEUE_CONCURRENCY": _number(env, "QUEUE_CONCURRENCY", 8, minimum=1),
        "QUEUE_DB_CONNECTIONS": _number(env, "QUEUE_DB_CONNECTIONS", 8, minimum=2),
        "QUEUE_DB_WAIT_SECONDS": _number(env, "QUEUE_DB_WAIT_SECONDS", 60.0, kind=float),
        "QUEUE_REQUEST_TIMEOUT": _number(env, "QUEUE_REQUEST_TIMEOUT", 300.0, kind=float,
                                         minimum=1),
        "QUEUE_CLOCK_SKEW_WARN": _number(env, "QUEUE_CLOCK_SKEW_WARN", 5.0, kind=float,
                                         minimum=0.1),
        # A TOML file of recurring schedule entries (see dashboard/queue/operations/recurring.py).
        "QUEUE_SCHEDULE": env.get("QUEUE_SCHEDULE", "").strip() or None,
        #: With jobs due and no digest seen for this long, the overview raises an alarm.
        "QUEUE_DIGEST_EXPECTED_SECONDS": _number(env, "QUEUE_DIGEST_EXPECTED_SECONDS", 180.0,
                                                 kind=float, minimum=1),
        **mail_settings(env),
        **logs_and_metrics(env),
        **serving(env),
        # The HTTP API answers 413 to a larger body (bytes).
        "API_MAX_BODY": _number(env, "API_MAX_BODY", 1024 * 1024, minimum=1024),
        # ... and to a body of more JSON values than this, before parsing it.
        "API_MAX_ELEMENTS": _number(env, "API_MAX_ELEMENTS", 100_000, minimum=100),
        "API_RATE_LIMIT_STORAGE": (env.get("API_RATE_LIMIT_STORAGE", "").strip()
                                   or "sqlitefile://" + str(Path(instance_path).resolve()
                                                            / "rate-limits.db")),
        "QUEUE_MASKED_KEYS": _words(env.get("QUEUE_MASKED_KEYS"), DEFAULT_WORDS),
        "DASHBOARD_BULK_LIMIT": _number(env, "DASHBOARD_BULK_LIMIT", 10_000, minimum=1),
        # A text search (q) stops after this long, asking to narrow it.
        "DASHBOARD_SEARCH_TIMEOUT_MS": _number(env, "DASHBOARD_SEARCH_TIMEOUT_MS", 2000,
                                               minimum=1),
        "DASHBOARD_POLL_SECONDS": _number(env, "DASHBOARD_POLL_SECONDS", 5.0, kind=float,
                                          minimum=1),
        **access(env),
        "SESSION_COOKIE_SECURE": _flag(env, "DASHBOARD_HTTPS_ONLY"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # A CSRF token lives as long as the session: a dashboard tab left open for hours
        # must still be able to act.
        "WTF_CSRF_TIME_LIMIT": None,
    }


LOG_FORMATS = ("plain", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = (env.get(name) or default).strip()
    for choice in choices:
        if raw.lower() == choice.lower():
            return choice
    raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")


def logs_and_metrics(env: dict[str, str]) -> dict[str, Any]:
    """Logs and metrics: how the app reports on itself when deployed."""
    token = env.get("METRICS_TOKEN", "").strip() or None
    if token is not None:
        _need("prometheus_client", "METRICS_TOKEN (GET /metrics)")
    return {
        "LOG_FORMAT": _choice(env, "LOG_FORMAT", LOG_FORMATS, "plain"),
        "LOG_LEVEL": _choice(env, "LOG_LEVEL", LOG_LEVELS, "INFO"),
        # No token, no /metrics: the endpoint is off unless asked for.
        "METRICS_TOKEN": token,
        "METRICS_WINDOW": _number(env, "METRICS_WINDOW", 300.0, kind=float, minimum=1),
    }


def access(env: dict[str, str]) -> dict[str, Any]:
    """Sessions and the proxies whose forwarded headers are trusted."""
    return {
        # A session ends this long after login, however active (hours)...
        "DASHBOARD_SESSION_HOURS": _number(env, "DASHBOARD_SESSION_HOURS", 12.0, kind=float,
                                           minimum=0.01),
        # ...and after this long without a request (minutes).
        "DASHBOARD_SESSION_IDLE_MINUTES": _number(env, "DASHBOARD_SESSION_IDLE_MINUTES", 60.0,
                                                  kind=float, minimum=1),
        "DASHBOARD_PROXIES": proxies(env.get("DASHBOARD_PROXIES", "")),
    }


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxies(raw: str) -> tuple[Network, ...]:
    """The reverse proxies' addresses or networks: ``127.0.0.1, 10.0.0.0/8, fd00::/8``."""
    if raw.strip() in ("", "0"):
        return ()
    found = []
    for item in (part.strip() for part in raw.split(",")):
        if item.isdigit():
            raise ConfigError(
                f"DASHBOARD_PROXIES lists the proxies' addresses, not how many there are: got "
                f"{raw!r}; set it to your proxy's address, e.g. DASHBOARD_PROXIES=127.0.0.1")
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"DASHBOARD_PROXIES: {item!r} is not an IP address or network "
                              "(e.g. 10.0.0.5 or 10.0.0.0/24)") from None
    return tuple(found)


RATE_LIMIT_OFF = "off"


def serving(env: dict[str, str]) -> dict[str, Any]:
    """What keeps one client from holding the web workers: Run now's time limit, and the
    API's rate limit per token."""
    return {
        # Seconds; below gunicorn's timeout and a proxy's usual 60, so the page always
        # answers (the digest runs the rest of the job).
        "DASHBOARD_RUN_SECONDS": _number(env, "DASHBOARD_RUN_SECONDS", 20.0, kind=float,
                                         minimum=1),
        "API_RATE_LIMIT": rate_limit(env.get("API_RATE_LIMIT", "600 per minute")),
    }


def rate_limit(raw: str) -> str:
    """Flask-Limiter's notation ("600 per minute", "10/second;500/hour") or ``off``."""
    value = raw.strip() or RATE_LIMIT_OFF
    if value.lower() == RATE_LIMIT_OFF:
        return RATE_LIMIT_OFF
    try:
        parse_many(value)
    except ValueError:
        raise ConfigError(f"API_RATE_LIMIT must be like '600 per minute' or "
                          f"'10/second;500/hour', or off; got {raw!r}") from None
    return value


def _words(raw: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of lower-case words; unset or blank gives the default."""
    if raw is None or not raw.strip():
        return default
    return tuple(word.strip().lower() for word in raw.split(",") if word.strip())


def _secret_key(env: dict[str, str]) -> str | None:
    raw = env.get("SECRET_KEY") or None
    if raw is not None and len(raw) < MIN_SECRET_KEY_LENGTH:
        # The key is never printed, only its length.
        raise ConfigError(f"SECRET_KEY is {len(raw)} characters long; it must have at least "
                          f"{MIN_SECRET_KEY_LENGTH}, or a session cookie lets anyone guess it "
                          "offline and sign their own (make one with: python3 -c 'import "
                          "secrets; print(secrets.token_hex(32))'), or unset it to have one "
                          "made in instance/secret_key")
    return raw


def _instance_secret(instance_path: str) -> str:
    """A secret kept in the instance folder, made on first start: sessions survive restarts
    and are shared by the workers of one host without any setting."""
    path = Path(instance_path) / "secret_key"
    files.private_folder(path.parent)
    files.write_private(path, secrets.token_hex(32))  # no-op when another process made it
    return path.read_text().strip()
