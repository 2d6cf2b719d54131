"""What a request's connection tells us, and what we believe of it (issue 11, defects 6 and 8).

- The client address: behind proxies the TCP peer is the proxy. X-Forwarded-For is read only when the peer is a
  trusted proxy (`FORWARDED_ALLOW_IPS`, addresses or CIDR networks; default loopback), and then from the right:
  each proxy appends the address it saw, so the rightmost address that is not itself a trusted proxy is the
  client. Anything further left was written by the client and proves nothing (uvicorn's `--forwarded-allow-ips
  '*'` took the leftmost, so a client chose its own address and escaped every per-IP limit). `*` trusts any peer
  as *one* proxy: the rightmost entry is the client. The result replaces the ASGI scope's `client` once, here,
  before anything reads it: rate limits (Litestar reads `request.client.host`), login throttling, logs,
  /metrics' loopback rule all see the same address. X-Forwarded-Proto from a trusted peer sets the scheme.
- The Host header: only `ALLOWED_HOSTS` (default: PUBLIC_URL's host and the loopback names) is served; any other
  gets 400, so a forged Host never reaches a page, link or origin check. /health/live and /health/ready answer any
  Host (platform probes use their own names).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LOOPBACK_PROXIES = ("127.0.0.1", "::1")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
ANY_HOST_PATHS = frozenset({"/health/live", "/health/ready"})


def parse_networks(items: Iterable[str]) -> tuple[Network, ...]:
    """'10.0.0.0/8', '127.0.0.1', '::1' -> networks; ValueError names the bad entry."""
    networks: list[Network] = []
    for item in items:
        if item == "*":
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network (CIDR)") from None
    return tuple(networks)


class TrustedProxies:
    def __init__(self, items: Iterable[str]) -> None:
        items = tuple(items)
        self.any_peer = "*" in items
        self.networks = parse_networks(items)
        self.trusts = lru_cache(maxsize=4096)(self._trusts)

    def _trusts(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def trusts_peer(self, peer: str) -> bool:
        return self.any_peer or self.trusts(peer)

    def client(self, peer: str | None, forwarded_for: list[str]) -> str | None:
        """The client's address; `peer` when it is not a trusted proxy or nothing was forwarded."""
        if not forwarded_for or not peer or not self.trusts_peer(peer):
            return peer
        hops = [hop_address(hop) for value in forwarded_for for hop in value.split(",")]
        hops = [hop for hop in hops if hop]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer  # every hop is one of our proxies: the first one is the client


def hop_address(hop: str) -> str:
    """One X-Forwarded-For entry as a normalised IP address ('' when it is not one: `unknown`, obfuscated ids)."""
    hop = hop.strip()
    if hop.startswith("["):  # [v6]:port
        hop = hop[1 : hop.find("]")] if "]" in hop else ""
    elif hop.count(":") == 1:  # v4:port
        hop = hop.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(hop))
    except ValueError:
        return ""


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """`host` (a Host header, port ignored) is one of `allowed` (names, `[v6]`, or `*.suffix`)."""
    name = host.strip().lower()
    if name.startswith("["):
        name = name[: name.find("]") + 1] if "]" in name else ""
    else:
        name = name.rsplit(":", 1)[0] if ":" in name else name
    if not name:
        return False
    for pattern in allowed:
        if pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


class InvalidHost(HTTPException):
    status_code = 400
    detail = "invalid host header"


class ProxyHeadersMiddleware:
    """Pure ASGI: sets scope['client'] (and the scheme) from a trusted proxy's headers, refuses foreign Hosts."""

    def __init__(self, app: ASGIApp, trusted: tuple[str, ...], allowed_hosts: tuple[str, ...]) -> None:
        self.app = app
        self.proxies = TrustedProxies(trusted)
        self.allowed_hosts = allowed_hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            forwarded_for: list[str] = []
            proto = host = ""
            for name, value in scope["headers"]:
                if name == b"x-forwarded-for":
                    forwarded_for.append(value.decode("latin-1"))
                elif name == b"x-forwarded-proto":
                    proto = value.decode("latin-1").rsplit(",", 1)[-1].strip().lower()
                elif name == b"host":
                    host = value.decode("latin-1")
            address = scope.get("client")
            peer = address[0] if address else None
            if peer and self.proxies.trusts_peer(peer):
                client = self.proxies.client(peer, forwarded_for)
                if client and client != peer:
                    scope["client"] = (client, 0)
                if proto in ("http", "https"):
                    scope["scheme"] = proto
            if scope.get("path") not in ANY_HOST_PATHS and not host_allowed(host, self.allowed_hosts):
                raise InvalidHost()
        await self.app(scope, receive, send)
