"""One HTTP POST to a webhook receiver, with the SSRF guard at connect time.

httpcore (not httpx) on purpose: it never follows redirects, reads no proxy settings from the
environment, and lets us supply the network backend. Our backend resolves the host, checks every
address, and connects to a checked address itself; TLS is then negotiated with the URL's host
name (SNI and certificate verification), so the address that was checked is the one used.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore

from integrations.webhooks.ssrf import AddressPolicy, BlockedAddress, Resolver


@dataclass(frozen=True, slots=True)
class Limits:
    connect_seconds: float = 3.0
    read_seconds: float = 5.0
    total_seconds: float = 10.0
    # Read at most this much of a response body (receivers only need to answer a status).
    max_response_bytes: int = 64 * 1024


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one POST gave: a status (None when no response came) or the reason it failed."""

    ok: bool
    status_code: int | None
    latency_ms: int
    error: str | None = None
    # False when trying again cannot help (the address is refused).
    retryable: bool = True


class GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.policy.resolve(self.resolver, host, port)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        assert last_error is not None  # `resolve` returns at least one address
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not webhook receivers")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class WebhookTransport:
    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver,
        limits: Limits,
        ssl_context: ssl.SSLContext | None = None,
        connector: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.limits = limits
        self.pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or ssl.create_default_context(),
            network_backend=GuardedBackend(policy, resolver, connector),
            # A new, checked connection for every delivery.
            max_keepalive_connections=0,
            retries=0,
        )

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        started = time.perf_counter()

        def attempt(
            ok: bool, status: int | None, error: str | None = None, retryable: bool = True
        ) -> Attempt:
            elapsed = int((time.perf_counter() - started) * 1000)
            return Attempt(ok, status, elapsed, error, retryable)

        limits = self.limits
        timeouts = {
            "connect": limits.connect_seconds,
            "read": limits.read_seconds,
            "write": limits.read_seconds,
            "pool": limits.connect_seconds,
        }
        try:
            async with asyncio.timeout(limits.total_seconds):
                async with self.pool.stream(
                    "POST",
                    url,
                    headers=[(k.encode(), v.encode()) for k, v in headers.items()],
                    content=body,
                    extensions={"timeout": timeouts},
                ) as response:
                    status = response.status
                    read = 0
                    async for chunk in response.aiter_stream():
                        read += len(chunk)
                        if read >= limits.max_response_bytes:
                            break  # the rest is not read; the connection is closed
        except BlockedAddress as refused:
            return attempt(False, None, f"refused: {refused}", retryable=False)
        except (TimeoutError, httpcore.TimeoutException):
            return attempt(False, None, "timed out")
        except httpcore.ConnectError:
            return attempt(False, None, "connection failed")
        except httpcore.UnsupportedProtocol:
            return attempt(False, None, "unsupported URL scheme", retryable=False)
        except (httpcore.ProtocolError, httpcore.NetworkError, ssl.SSLError) as error:
            return attempt(False, None, f"connection error ({type(error).__name__})")
        if 200 <= status < 300:
            return attempt(True, status)
        if 300 <= status < 400:
            return attempt(False, status, f"HTTP {status}: redirects are not followed")
        return attempt(False, status, f"HTTP {status}")

    async def close(self) -> None:
        await self.pool.aclose()
