"""The client's address and scheme behind reverse proxies, from forwarded headers only when
a proxy we trust sent them.

``X-Forwarded-For`` is a list that each proxy extends with the address it got the request
from. Anyone can start that list, so it is read from the right, skipping our own proxies:
the first address that is not one of them is the client. A request that did not come
from one of our proxies keeps its own address, whatever its headers say.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from ..app.config import Network

#: Longest address kept from a header (an IPv6 address with a zone fits).
MAX_ADDRESS = 64


class TrustedProxies:
    """WSGI middleware: REMOTE_ADDR, the scheme and the host as the client sent them."""

    def __init__(self, app: Callable, networks: Iterable[Network]) -> None:
        self.app = app
        self.networks = tuple(networks)

    def trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        peer = environ.get("REMOTE_ADDR", "")
        if self.trusted(peer):
            environ["REMOTE_ADDR"] = client_address(
                peer, environ.get("HTTP_X_FORWARDED_FOR", ""), self.trusted)
            scheme = _last(environ.get("HTTP_X_FORWARDED_PROTO", "")).lower()
            if scheme in ("http", "https"):
                environ["wsgi.url_scheme"] = scheme
            host = _last(environ.get("HTTP_X_FORWARDED_HOST", ""))
            if host:
                environ["HTTP_HOST"] = host
        return self.app(environ, start_response)


def client_address(peer: str, forwarded_for: str, trusted: Callable[[str], bool]) -> str:
    """The first address from the right of ``forwarded_for`` that is not a trusted proxy;
    ``peer`` (a trusted proxy) when the header is empty."""
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop[:MAX_ADDRESS]
    # Every hop is one of ours: the leftmost is where the request entered.
    return hops[0][:MAX_ADDRESS] if hops else peer


def _last(header: str) -> str:
    """The value the nearest proxy added."""
    return header.rsplit(",", 1)[-1].strip()
