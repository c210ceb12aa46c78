"""Flask-Mail, made safe for the digest: a deadline on the whole SMTP conversation, bodies
encoded so no line exceeds SMTP's 998 characters, and clear words for what went wrong.
The ``mail`` extra: imported only where an email is sent or built.

Flask-Mail 0.10 opens ``smtplib.SMTP(server, port)`` without a timeout (a server that
accepts the connection and never answers would hang the digest for ever), sends bodies as
unwrapped 8-bit text, and calls ``quit()`` even after a failure. Over TLS (SMTPS or
STARTTLS) it does not check the server's certificate, so anyone in between could take the
SMTP login: here the certificate and the host name are verified, against the system's CAs
or ``MAIL_CA_FILE``, unless ``MAIL_TLS_VERIFY`` is turned off.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import time
from email.charset import QP, Charset
from email.mime.text import MIMEText
from typing import Any

import flask_mail
from flask import current_app


class _Deadline:
    """Every step of the conversation waits at most what is left of ``timeout``."""

    deadline: float
    sock: socket.socket | None

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        if self.sock is not None:
            self.sock.settimeout(left)
        return left

    def getreply(self) -> tuple[int, bytes]:
        self._left()
        return super().getreply()  # type: ignore[misc]

    def send(self, s: Any) -> None:  # smtplib's: str or a bytes-like buffer
        self._left()
        super().send(s)  # type: ignore[misc]


class SMTP(_Deadline, smtplib.SMTP):
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        super().__init__(host, port, timeout=timeout)


class SMTP_SSL(_Deadline, smtplib.SMTP_SSL):
    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        self.deadline = time.monotonic() + timeout
        super().__init__(host, port, timeout=timeout, context=context)


def tls_context(config: dict[str, Any]) -> ssl.SSLContext:
    """How SMTPS and STARTTLS check the server: its certificate must chain to a trusted CA
    (``MAIL_CA_FILE``, else the system's) and name ``MAIL_SERVER``; ``MAIL_TLS_VERIFY=off``
    checks nothing (the traffic is encrypted, but to whoever answers)."""
    context = ssl.create_default_context(cafile=config.get("MAIL_CA_FILE") or None)
    if not config.get("MAIL_TLS_VERIFY", True):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class Connection(flask_mail.Connection):
    def configure_host(self) -> smtplib.SMTP:
        state, config = self.mail, current_app.config
        timeout = config["MAIL_TIMEOUT"]
        host: smtplib.SMTP
        if state.use_ssl:
            host = SMTP_SSL(state.server, state.port, timeout, tls_context(config))
        else:
            host = SMTP(state.server, state.port, timeout)
        try:
            host.set_debuglevel(int(state.debug))
            if state.use_tls:
                host.starttls(context=tls_context(config))
            if state.username and state.password:
                host.login(state.username, state.password)
        except BaseException:
            host.close()
            raise
        return host

    def __exit__(self, exc_type: Any, exc_value: Any, tb: Any) -> None:
        if self.host is None:
            return
        if exc_type is not None:
            self.host.close()
            return
        try:
            self.host.quit()
        except (smtplib.SMTPException, OSError):
            # The message was accepted already: a failed goodbye changes nothing.
            self.host.close()


class Mail(flask_mail.Mail):
    """Flask-Mail whose connections honour ``MAIL_TIMEOUT`` (seconds, whole conversation)."""

    def connect(self) -> Connection:
        app = getattr(self, "app", None) or current_app
        return Connection(app.extensions["mail"])


class Message(flask_mail.Message):
    """Bodies in quoted-printable: lines of any length arrive intact, under 998 characters."""

    def _mimetext(self, text: str | None, subtype: str = "plain") -> MIMEText:
        charset = Charset(self.charset or "utf-8")
        charset.body_encoding = QP
        return MIMEText(text or "", _subtype=subtype, _charset=charset)  # type: ignore[arg-type]


def describe(error: BaseException) -> str:
    """One line saying why a message could not be sent."""
    config = current_app.config
    server = f"{config['MAIL_SERVER']}:{config['MAIL_PORT']}"
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        return f"the mail server {server} did not answer within {config['MAIL_TIMEOUT']:g}s"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(sorted(error.recipients))
        return f"the mail server {server} refused the recipients {refused}"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return f"the mail server {server} refused MAIL_USERNAME/MAIL_PASSWORD ({error.smtp_code})"
    if isinstance(error, smtplib.SMTPResponseException):
        answer = error.smtp_error.decode(errors="replace") if isinstance(
            error.smtp_error, bytes) else str(error.smtp_error)
        return f"the mail server {server} answered {error.smtp_code} {answer.strip()}"
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return f"the mail server {server} closed the connection: {error}"
    if isinstance(error, ssl.SSLCertVerificationError):
        return (f"the mail server {server}'s certificate is not trusted "
                f"({error.verify_message}); give its CA in MAIL_CA_FILE")
    if isinstance(error, ConnectionRefusedError):
        return f"could not connect to the mail server {server}: connection refused"
    if isinstance(error, OSError):
        return f"could not talk to the mail server {server}: {error.strerror or error}"
    return f"{type(error).__name__}: {error}"


#: The extension, bound to the app when QUEUE_ALERT_TO is set (alerts.init_app).
mail = Mail()
