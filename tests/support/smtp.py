"""A real SMTP server for the tests (aiosmtpd), on 127.0.0.1 and a free port.

aiosmtpd is strict like production servers: a line over SMTP's limit is refused.
"""

from __future__ import annotations

import email
import socket
import threading
import time
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Received:
    """What the server was given: the envelope and the raw message."""

    def __init__(self, envelope) -> None:
        self.mail_from = envelope.mail_from
        self.recipients = list(envelope.rcpt_tos)
        self.raw: bytes = envelope.original_content
        self.message: EmailMessage = email.message_from_bytes(self.raw, policy=default)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def body(self, subtype: str) -> str:
        return self.message.get_body(preferencelist=(subtype,)).get_content()


class SMTPServer:
    """Start, stop and start again on the same port; ``received`` keeps every message."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.received: list[Received] = []
        #: Seconds the server waits before accepting each message.
        self.delay = 0.0
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            time.sleep(self.delay)  # holds up this client, as a slow server does
        with self._lock:
            self.received.append(Received(envelope))
        return "250 Message accepted for delivery"

    def start(self) -> SMTPServer:
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class SilentServer:
    """Accepts connections (the kernel does) and never says a word."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self.port = self._socket.getsockname()[1]

    def calls(self) -> int:
        """How many clients connected since the last count: the kernel keeps each
        connection in the backlog until it is accepted, even one its client has closed."""
        self._socket.setblocking(False)
        count = 0
        while True:
            try:
                client, _ = self._socket.accept()
            except BlockingIOError:
                return count
            client.close()
            count += 1

    def close(self) -> None:
        self._socket.close()


class TricklingServer:
    """Answers every step of the conversation, each a little under the client's timeout
    (a server under heavy load): only a deadline on the whole conversation stops it."""

    def __init__(self, pause: float) -> None:
        self.pause = pause
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self.port = self._socket.getsockname()[1]
        #: Commands the client sent before it hung up.
        self.commands = 0
        self._closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            client, _ = self._socket.accept()
        except OSError:
            return
        with client:
            try:
                reader = client.makefile("rb")
                client.sendall(self._later(b"220 slow.example.test ESMTP\r\n"))
                while not self._closed.is_set() and reader.readline():
                    self.commands += 1
                    client.sendall(self._later(b"250 ok\r\n"))
            except OSError:
                return

    def _later(self, answer: bytes) -> bytes:
        self._closed.wait(self.pause)
        return answer

    def close(self) -> None:
        self._closed.set()
        self._socket.close()
