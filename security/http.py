"""HTTP hardening as plain ASGI middleware: headers, request IDs, HTTPS, CSRF, body size.

`install_http_security` wires everything in the order it must run (outermost first):
security headers and request ID (so every answer carries them, refusals included) → trusted
hosts → HTTPS redirect (production) → CORS (answers preflights) → CSRF → body size → the app.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass

import orjson
from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.request_context import choose_request_id
from core.settings import Settings
from security.proxies import TrustedProxies

MAX_BODY_BYTES = 1024 * 1024
MAX_QUERY_STRING_BYTES = 16 * 1024  # GET queries: the token limit is reached long before this
HSTS = "max-age=63072000; includeSubDomains"
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Browsers send these content types cross-site without a CORS preflight ("simple requests").
SIMPLE_CONTENT_TYPES = frozenset(
    {"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}
)
# A browser cannot add any of these cross-site without a preflight, which CORS then refuses.
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "graphql-preflight")
# Probes and the metrics scraper reach the app over plain HTTP from inside the deployment, by
# address (Docker HEALTHCHECK on 127.0.0.1, kubelet and Prometheus on the pod IP); they carry no
# user data and build no URLs, so neither the HTTPS redirect nor the Host allow-list applies.
PLAIN_HTTP_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


async def send_error(send: Send, status: int, message: str, code: str = "BAD_REQUEST") -> None:
    """A GraphQL-shaped error body, so clients parse every refusal the same way."""
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def graphiql_csp(html: str) -> str:
    """A CSP for the GraphiQL page: CDN scripts from unpkg, its inline script by hash only."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in re.findall(r"<script>(.*?)</script>", html, flags=re.DOTALL)
    ]
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self' https://unpkg.com " + " ".join(hashes),
            # GraphiQL's React components set style attributes, which hashes cannot cover.
            "style-src 'self' 'unsafe-inline' https://unpkg.com",
            "img-src 'self' data: https://unpkg.com",
            "font-src 'self' data: https://unpkg.com",
            "connect-src 'self' ws: wss:",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


class SecurityHeaders:
    """Adds the security headers and the request ID to every HTTP response."""

    def __init__(
        self, app: ASGIApp, *, production: bool = False, html_csp: str | None = None
    ) -> None:
        self.app = app
        self.production = production
        self.html_csp = html_csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = choose_request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                html = headers.get("content-type", "").startswith("text/html")
                headers["x-request-id"] = request_id
                headers["x-content-type-options"] = "nosniff"
                headers["x-frame-options"] = "DENY"
                headers["referrer-policy"] = "no-referrer"
                headers["cross-origin-opener-policy"] = "same-origin"
                headers["content-security-policy"] = (
                    self.html_csp if html and self.html_csp else API_CSP
                )
                if "cache-control" not in headers:
                    headers["cache-control"] = "no-store"
                if self.production:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await self.app(scope, receive, with_headers)


class HTTPSRedirect:
    """Production: plain-HTTP requests are redirected (308 keeps the method and body)."""

    def __init__(self, app: ASGIApp, *, proxies: TrustedProxies) -> None:
        self.app = app
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PLAIN_HTTP_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        peer = scope["client"][0] if scope.get("client") else None
        scheme = self.proxies.scheme(peer, headers, scope.get("scheme", "http"))
        if scheme in ("https", "wss"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        host = headers.get("host", "").split(",")[0].strip()
        query = scope.get("query_string", b"").decode("latin-1")
        location = f"https://{host}{scope['path']}" + (f"?{query}" if query else "")
        await send(
            {
                "type": "http.response.start",
                "status": 308,
                "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": b""})


class CSRFGuard:
    """Refuses state-changing requests a browser could send cross-site without a preflight."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        forced_preflight = any(headers.get(name) for name in PREFLIGHT_HEADERS)
        if media_type in SIMPLE_CONTENT_TYPES and not forced_preflight:
            await send_error(
                send,
                400,
                "This request was blocked as a possible cross-site request forgery: send "
                "'Content-Type: application/json' (or an 'Apollo-Require-Preflight' header).",
            )
            return
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    """Raised from `receive` once a streamed body passes the limit."""


class BodySizeLimit:
    """413 for bodies over `max_bytes`, whether declared by Content-Length or streamed;
    414 for query strings (GET queries) over MAX_QUERY_STRING_BYTES."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_STRING_BYTES:
            await send_error(send, 414, f"The URL query exceeds {MAX_QUERY_STRING_BYTES} bytes.")
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await send_error(send, 413, f"The request body exceeds {self.max_bytes} bytes.")


class InternalPathsTrustedHost(TrustedHostMiddleware):
    """The Host allow-list, except for probes and metrics (reached by address, see above)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in PLAIN_HTTP_PATHS:
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


@dataclass(frozen=True, slots=True)
class HttpPolicy:
    """The HTTP hardening's slice of the settings."""

    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ("*",)
    trusted_proxies: tuple[str, ...] = ()
    production: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpPolicy:
        return cls(
            allowed_origins=tuple(settings.allowed_origins),
            allowed_hosts=tuple(settings.allowed_hosts),
            trusted_proxies=tuple(settings.trusted_proxies),
            production=settings.is_production,
        )


def install_http_security(
    app: Starlette, policy: HttpPolicy, *, graphiql_html: str | None = None
) -> None:
    """Add the middleware stack; `add_middleware` prepends, so the innermost goes first."""
    proxies = TrustedProxies(policy.trusted_proxies)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(CSRFGuard)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(policy.allowed_origins),
        allow_credentials=True,
        allow_methods=["GET", "POST"],
        allow_headers=_cors_request_headers(),
        expose_headers=[
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "RateLimit-Policy",
            "Retry-After",
            "X-Request-ID",
            "Content-Disposition",
        ],
        max_age=3600,
    )
    if policy.production:
        app.add_middleware(HTTPSRedirect, proxies=proxies)
    app.add_middleware(
        InternalPathsTrustedHost, allowed_hosts=list(policy.allowed_hosts), www_redirect=False
    )
    app.add_middleware(
        SecurityHeaders,
        production=policy.production,
        html_csp=graphiql_csp(graphiql_html) if graphiql_html else None,
    )


def _cors_request_headers() -> list[str]:
    return ["Authorization", "Content-Type", "Accept", "X-Request-ID", *PREFLIGHT_HEADERS]
