"""Who is really asking: the client address and scheme behind trusted reverse proxies.

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only when the direct peer is listed in
TRUSTED_PROXIES (addresses or CIDR networks; empty by default, so nothing is believed). Anyone can
send those headers, so trusting them from an untrusted peer would let a client pick its own
rate-limit key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache

from core.settings import SettingsError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    def __init__(self, entries: Iterable[str]) -> None:
        networks: list[IPNetwork] = []
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError as exc:
                raise SettingsError(
                    f"TRUSTED_PROXIES entry {entry!r} is not an IP address or CIDR network"
                ) from exc
        self.networks: tuple[IPNetwork, ...] = tuple(networks)

    def is_trusted(self, address: str | None) -> bool:
        if not address or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_ip(self, peer: str | None, headers: Mapping[str, str]) -> str:
        """The first untrusted hop, reading X-Forwarded-For right to left from the peer."""
        address = peer or "unknown"
        if not self.is_trusted(address):
            return address
        hops = [hop.strip() for hop in headers.get("x-forwarded-for", "").split(",")]
        for hop in reversed([hop for hop in hops if hop]):
            if not _valid_ip(hop):
                return address  # a garbled chain: stop at the last address we can vouch for
            address = hop
            if not self.is_trusted(hop):
                return hop
        return address

    def scheme(self, peer: str | None, headers: Mapping[str, str], default: str) -> str:
        """`https` when the connection, or a trusted proxy in front of it, used TLS."""
        if self.is_trusted(peer):
            forwarded = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
            if forwarded in {"http", "https"}:
                return forwarded
        return default


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=16)
def trusted_proxies(entries: tuple[str, ...]) -> TrustedProxies:
    """Parsed once per distinct setting value (the context asks on every request)."""
    return TrustedProxies(entries)
