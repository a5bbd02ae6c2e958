"""Reading security group rules (`configuration.ingress` of `AWS::EC2::SecurityGroup`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ANYWHERE_V4 = "0.0.0.0/0"
ANYWHERE_V6 = "::/0"
TCP = ("tcp", "6")
ALL_PORTS = (0, 65535)


def _open_to_anyone(rule: Mapping[str, Any]) -> list[str]:
    ranges = [*(rule.get("ipv4Ranges") or []), *(rule.get("ipv6Ranges") or [])]
    return sorted({r for r in ranges if r in (ANYWHERE_V4, ANYWHERE_V6)})


def _covers(rule: Mapping[str, Any], port: int) -> bool:
    protocol = str(rule.get("protocol"))
    if protocol == "all":
        return True
    if protocol not in TCP:
        return False
    low, high = rule.get("fromPort"), rule.get("toPort")
    if low is None or high is None:
        return True
    return int(low) <= port <= int(high)


def _all_ports(rule: Mapping[str, Any]) -> bool:
    if str(rule.get("protocol")) == "all":
        return True
    low, high = rule.get("fromPort"), rule.get("toPort")
    return str(rule.get("protocol")) in TCP and (low in (None, 0)) and (high in (None, 65535))


def open_ports(config: Mapping[str, Any], ports: Iterable[int]) -> list[dict[str, Any]]:
    """Ingress rules letting anyone (0.0.0.0/0 or ::/0) reach one of `ports` over TCP."""
    wanted = tuple(ports)
    found = []
    for rule in config.get("ingress") or []:
        sources = _open_to_anyone(rule)
        reached = [port for port in wanted if _covers(rule, port)]
        if sources and reached:
            found.append({"ports": reached, "sources": sources, "protocol": rule.get("protocol")})
    return found


def open_all_ports(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Ingress rules letting anyone reach every port (protocol "all" or TCP 0–65535)."""
    return [
        {"sources": _open_to_anyone(rule), "protocol": rule.get("protocol")}
        for rule in config.get("ingress") or []
        if _open_to_anyone(rule) and _all_ports(rule)
    ]


def open_anything(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Ingress rules letting anyone reach any port at all."""
    return [
        {
            "sources": _open_to_anyone(rule),
            "protocol": rule.get("protocol"),
            "fromPort": rule.get("fromPort"),
            "toPort": rule.get("toPort"),
        }
        for rule in config.get("ingress") or []
        if _open_to_anyone(rule)
    ]
