"""SMTP over TLS checks the server's certificate: a server with a certificate no trusted CA
signed gets no login and no message, over SMTPS and STARTTLS alike; trusting its CA
(``MAIL_CA_FILE``) lets the email through; turning the check off takes a setting."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dashboard import create_app
from dashboard.app.config import ConfigError
from tests.support.alerting import mail_config
from tests.support.smtp import SMTPServer

USER, PASSWORD = "alerts", "smtp-pass-123"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA of our own and a certificate it signs for 127.0.0.1: (ca, cert, key) files."""
    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("Test CA")).issuer_name(_name("Test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return files


class TLSServer(SMTPServer):
    """The tests' SMTP server, over SMTPS or with STARTTLS, noting every login it gets."""

    def __init__(self, context: ssl.SSLContext, *, implicit: bool) -> None:
        super().__init__()
        self.context, self.implicit = context, implicit
        self.logins: list[tuple[bytes, bytes]] = []

    def authenticate(self, server, session, envelope, mechanism, data) -> AuthResult:
        self.logins.append((data.login, data.password))
        return AuthResult(success=True)

    def start(self) -> TLSServer:
        tls = {"ssl_context": self.context} if self.implicit else {
            "tls_context": self.context, "require_starttls": True}
        self._controller = Controller(self, hostname=self.host, port=self.port,
                                      authenticator=self.authenticate,
                                      auth_require_tls=False, **tls)
        self._controller.start()
        return self


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> tuple[Path, Path, Path]:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(params=["smtps", "starttls"])
def server(request, certificates):
    _, cert, key = certificates
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    found = TLSServer(context, implicit=request.param == "smtps").start()
    found.mode = request.param
    yield found
    found.stop()


def send_test_email(tmp_path: Path, server: TLSServer, **settings: object):
    config = mail_config({"TESTING": True, "SECRET_KEY": "test",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'q.db'}"},
                         server.port, MAIL_USERNAME=USER, MAIL_PASSWORD=PASSWORD,
                         MAIL_USE_SSL=server.mode == "smtps",
                         MAIL_USE_TLS=server.mode == "starttls", **settings)
    return create_app(config).test_cli_runner().invoke(args=["alerts", "test"])


def test_an_untrusted_certificate_gets_no_login_and_no_message(tmp_path, server) -> None:
    result = send_test_email(tmp_path, server)
    assert result.exit_code == 1
    assert "certificate is not trusted" in result.output and "MAIL_CA_FILE" in result.output
    assert server.logins == [] and server.received == []


def test_trusting_the_servers_ca_sends_the_email(tmp_path, server, certificates) -> None:
    result = send_test_email(tmp_path, server, MAIL_CA_FILE=str(certificates[0]))
    assert result.exit_code == 0, result.output
    assert server.logins == [(USER.encode(), PASSWORD.encode())]
    assert len(server.received) == 1


def test_the_certificate_must_name_the_server(tmp_path, server, certificates) -> None:
    """Trusted CA, wrong name: the server is 127.0.0.1, the certificate says so, but we
    ask for "localhost"."""
    result = send_test_email(tmp_path, server, MAIL_CA_FILE=str(certificates[0]),
                             MAIL_SERVER="localhost")
    assert result.exit_code == 1 and server.logins == []


def test_verification_is_off_only_when_asked(tmp_path, server, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="dashboard.alerts"):
        result = send_test_email(tmp_path, server, MAIL_TLS_VERIFY=False)
    assert result.exit_code == 0, result.output
    assert len(server.logins) == 1
    assert "MAIL_TLS_VERIFY is off" in caplog.text


@pytest.mark.parametrize(("settings", "warned"), [
    ({}, True),
    ({"MAIL_USE_TLS": True}, False),
    ({"MAIL_USE_SSL": True}, False),
    ({"MAIL_USERNAME": None}, False),  # no login, nothing to leak
])
def test_a_login_without_tls_is_warned_of_at_start(tmp_path, caplog, settings, warned) -> None:
    config = mail_config({"TESTING": True, "SECRET_KEY": "test",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'q.db'}"},
                         25, MAIL_USERNAME=USER, MAIL_PASSWORD=PASSWORD)
    with caplog.at_level(logging.WARNING, logger="dashboard.alerts"):
        create_app({**config, **settings})
    assert ("the SMTP login travels in clear" in caplog.text) == warned


def test_an_unreadable_ca_file_stops_start_up(tmp_path) -> None:
    with pytest.raises(ConfigError, match="MAIL_CA_FILE"):
        create_app({"TESTING": True, "SECRET_KEY": "test",
                    "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'q.db'}",
                    "MAIL_CA_FILE": str(tmp_path / "missing.pem")})


@pytest.mark.parametrize(("raw", "verify"), [("", True), ("off", False), ("1", True)])
def test_mail_tls_verify_is_on_unless_turned_off(raw, verify) -> None:
    from dashboard.app.config import mail_settings

    assert mail_settings({"MAIL_TLS_VERIFY": raw})["MAIL_TLS_VERIFY"] is verify
    with pytest.raises(ConfigError, match="MAIL_TLS_VERIFY"):
        mail_settings({"MAIL_TLS_VERIFY": "maybe"})
