"""A local HTTPS webhook receiver (trustme certificate) whose behaviour a test chooses."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.standins.httpserver import tls_context

MAX_HOLD_SECONDS = 30.0  # a "hang" or an endless body never outlives a test


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Behaviour:
    """`mode`: ok | status | redirect | hang | huge."""

    mode: str = "ok"
    status: int = 200


@dataclass
class WebhookReceiver:
    ca_path: Path
    received: list[Received] = field(default_factory=list)
    behaviour: Behaviour = field(default_factory=Behaviour)
    release: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        context = tls_context(self.ca_path)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/hooks"

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            receiver.received.append(Received(self.path, headers, body))
            behaviour = receiver.behaviour
            if behaviour.mode == "hang":
                receiver.release.wait(MAX_HOLD_SECONDS)
                return
            if behaviour.mode == "redirect":
                self.send_response(302)
                self.send_header("Location", f"https://localhost:{receiver.port}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if behaviour.mode == "huge":
                self._endless()
                return
            status = behaviour.status if behaviour.mode == "status" else 200
            reply = b'{"ok":true}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def _endless(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            deadline = time.monotonic() + MAX_HOLD_SECONDS
            try:
                while time.monotonic() < deadline and not receiver.release.is_set():
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                return  # the client stopped reading and closed: what we expect

    return Handler
