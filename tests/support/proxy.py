"""A TCP proxy between a digest and its database server, so a test can take the server
away (refuse new connections) and bring it back, and tell the digest's connections from
its own (by the ports the proxy connects from)."""

from __future__ import annotations

import socket
import threading

import sqlalchemy as sa


class Proxy:
    """Forwards 127.0.0.1:``port`` to ``host``:``target_port``."""

    def __init__(self, host: str, target_port: int) -> None:
        self.target = (host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        #: Open connections, by the local port of their socket to the server.
        self._open: dict[int, tuple[socket.socket, socket.socket]] = {}
        self._lock = threading.Lock()
        self.accept()

    def accept(self) -> None:
        """Listen (again, on the same port): the server is reachable."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._serve, args=(listener,), daemon=True).start()

    def url_for(self, url: str) -> str:
        """``url`` (a database URL of the proxied server) going through the proxy."""
        return sa.make_url(url).set(host="127.0.0.1", port=self.port).render_as_string(
            hide_password=False)

    def refuse(self) -> None:
        """Stop listening: new connections are refused, open ones carry on."""
        if self._listener is not None:
            _shutdown(self._listener)  # wakes the accepting thread
            self._listener.close()
            self._listener = None

    def server_ports(self) -> list[int]:
        """The client ports the server sees for the connections going through the proxy."""
        with self._lock:
            return list(self._open)

    def close(self) -> None:
        """Refuse new connections and cut the open ones."""
        self.refuse()
        with self._lock:
            pairs = list(self._open.values())
        for pair in pairs:
            for sock in pair:
                _shutdown(sock)

    def _serve(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            port = server.getsockname()[1]
            with self._lock:
                self._open[port] = (client, server)
            done = threading.Barrier(2, action=lambda port=port: self._forget(port))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(source, sink, done), daemon=True).start()

    def _forget(self, port: int) -> None:
        with self._lock:
            pair = self._open.pop(port, ())
        for sock in pair:
            sock.close()


def _pump(source: socket.socket, sink: socket.socket, done: threading.Barrier) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        # One side hung up: hang up the other; both pumps then close the pair once.
        _shutdown(sink)
        _shutdown(source)
        done.wait()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
