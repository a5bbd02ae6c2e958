"""Which addresses a webhook may reach: public ones, unless private networks are allowed.

The check runs on every resolved address at connect time (see `transport`), so a name that
rebinds to an internal address after registration is refused at delivery. IPv6 addresses that
embed an IPv4 address (mapped, compatible, 6to4, NAT64, Teredo) are judged by that address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port → the addresses to try, in order (tests pass a resolver they control).
Resolver = Callable[[str, int], Awaitable[list[str]]]

CLOUD_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack instance metadata
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS instance metadata over IPv6
        "100.100.100.200",  # Alibaba Cloud metadata
        "168.63.129.16",  # Azure host (wire server), a public address
    )
)
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Refused even when WEBHOOK_ALLOW_PRIVATE_NETWORKS is on: never a webhook receiver.
ALWAYS_REFUSED = frozenset({"cloud metadata", "unspecified", "multicast", "link-local"})


class BlockedAddress(Exception):
    """The destination is not allowed. The message gives the kind of address, not the address:
    it is shown to the webhook's owner, who must not learn what internal names resolve to."""


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64 or (int(address) >> 32 == 0 and int(address) > 1):
        # NAT64 well-known prefix, or a deprecated IPv4-compatible address (::a.b.c.d).
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def classify(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address; None when it is."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return classify(embedded)
    if address in CLOUD_METADATA:
        return "cloud metadata"
    if address.is_unspecified:
        return "unspecified"
    if address.is_multicast:
        return "multicast"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if isinstance(address, ipaddress.IPv4Address) and address in SHARED_ADDRESS_SPACE:
        return "shared (carrier-grade NAT)"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "reserved"
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    allow_private_networks: bool = False

    def check(self, text: str) -> IPAddress:
        """The parsed address, or BlockedAddress saying why it may not be contacted."""
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        except ValueError as exc:
            raise BlockedAddress(
                "the host resolved to something that is not an IP address"
            ) from exc
        reason = classify(address)
        if reason is None:
            return address
        if self.allow_private_networks and reason not in ALWAYS_REFUSED:
            return address
        raise BlockedAddress(f"the host resolves to a refused address ({reason})")

    async def resolve(self, resolver: Resolver, host: str, port: int) -> list[str]:
        """Every address of `host`, each checked; refused if any of them is not allowed (a
        name answering with one public and one internal address is not a receiver)."""
        addresses = [host] if _is_ip(host) else await resolver(host, port)
        if not addresses:
            raise BlockedAddress("the host has no address")
        for address in addresses:
            self.check(address)
        return addresses


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's resolver (getaddrinfo in a thread), addresses in its preferred order."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BlockedAddress("the host name does not resolve") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
