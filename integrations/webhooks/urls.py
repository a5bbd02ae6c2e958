"""Receiver URLs: what may be registered, checked again before every delivery."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from integrations.webhooks.options import WebhookOptions

MAX_URL_CHARS = 2048


class InvalidURL(Exception):
    """The URL cannot be a receiver; the message says why and is safe to show."""


@dataclass(frozen=True, slots=True)
class ReceiverURL:
    url: str
    host: str
    port: int


def parse_receiver_url(url: str, *, https_only: bool) -> ReceiverURL:
    if len(url) > MAX_URL_CHARS:
        raise InvalidURL(f"The URL is longer than {MAX_URL_CHARS} characters.")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise InvalidURL("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL("The URL is malformed.") from exc
    allowed = ("https",) if https_only else ("https", "http")
    if parts.scheme not in allowed:
        raise InvalidURL("The URL must start with " + " or ".join(f"{s}://" for s in allowed) + ".")
    if not parts.hostname:
        raise InvalidURL("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidURL("The URL must not carry a user name or password.")
    if parts.fragment:
        raise InvalidURL("The URL must not have a #fragment.")
    default = 443 if parts.scheme == "https" else 80
    return ReceiverURL(url, parts.hostname, port or default)


async def check_receiver(url: str, options: WebhookOptions) -> ReceiverURL:
    """Parse and resolve: InvalidURL, or ssrf.BlockedAddress when an address is refused."""
    receiver = parse_receiver_url(url, https_only=options.https_only)
    await options.policy.resolve(options.resolver, receiver.host, receiver.port)
    return receiver
