"""A tiny threaded JSON server on 127.0.0.1:0 with failure injection, for the cloud stand-ins."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

Reply = tuple[int, dict[str, Any], dict[str, str]]  # status, JSON body, extra headers


def tls_context(ca_path: Path) -> ssl.SSLContext:
    """A server context with a fresh `trustme` certificate for 127.0.0.1; the CA goes to
    `ca_path` (what PROVIDER_CA_BUNDLE points at)."""
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    ca.cert_pem.write_to_path(str(ca_path))
    return context


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Failure:
    """Answer requests whose path contains `fragment` with `status`, `times` times (-1: always)."""

    fragment: str
    status: int
    times: int
    retry_after: int | None = None
    answered: int = 0


class StandinServer:
    """Subclasses implement `handle(request) -> Reply`; unmatched paths answer 404."""

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.requests: list[Request] = []
        self.failures: list[Failure] = []
        self._lock = threading.Lock()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self._dispatch))
        server.daemon_threads = True
        if tls_context is not None:
            server.socket = tls_context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def fail(
        self, fragment: str, status: int, *, times: int = 1, retry_after: int | None = None
    ) -> Failure:
        failure = Failure(fragment, status, times, retry_after)
        with self._lock:
            self.failures.append(failure)
        return failure

    def clear_failures(self) -> None:
        with self._lock:
            self.failures.clear()

    def hits(self, fragment: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if fragment in r.path)

    def handle(self, request: Request) -> Reply:
        raise NotImplementedError

    def _dispatch(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            for failure in self.failures:
                if failure.fragment in request.path and failure.times != 0:
                    failure.times -= 1 if failure.times > 0 else 0
                    failure.answered += 1
                    headers = {}
                    if failure.retry_after is not None:
                        headers["Retry-After"] = str(failure.retry_after)
                    error = {"code": f"Injected{failure.status}", "message": "injected failure"}
                    return failure.status, {"error": error}, headers
        return self.handle(request)


def _handler_for(dispatch: Callable[[Request], Reply]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests assert on `requests` instead."""

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            request = Request(
                self.command, parts.path, query, {k.lower(): v for k, v in self.headers.items()},
                body,
            )  # fmt: skip
            status, payload, headers = dispatch(request)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve  # noqa: N815 (http.server's naming)
        do_POST = _serve  # noqa: N815

    return Handler
