"""A loopback gate in front of moto: the real SDK talks HTTP to it, it forwards to moto.

moto does not enforce role trust policies, so the gate plays the parts of AWS that the role
credentials depend on: it records every AssumeRole (role, external ID, duration) and the
temporary keys moto issued (for leak checks), answers AccessDenied for chosen role ARNs, and
throttles Organizations' ListAccounts a chosen number of times.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOP_HEADERS = frozenset({"connection", "transfer-encoding", "keep-alive", "content-length"})
ISSUED_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken")


@dataclass(frozen=True)
class AssumeRoleCall:
    role_arn: str
    external_id: str | None
    session_name: str | None
    duration_seconds: str | None
    denied: bool


@dataclass
class GateState:
    assume_role_calls: list[AssumeRoleCall] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)  # temporary key material moto handed out
    denied_roles: set[str] = field(default_factory=set)
    throttle_list_accounts: int = 0  # answers left; -1: always
    list_accounts_calls: int = 0


class AwsGate:
    def __init__(self, moto_url: str) -> None:
        target = urlsplit(moto_url)
        self._target = (target.hostname or "127.0.0.1", target.port or 80)
        self.state = GateState()
        self._lock = threading.Lock()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def deny(self, role_arn: str) -> None:
        with self._lock:
            self.state.denied_roles.add(role_arn)

    def throttle_list_accounts(self, times: int) -> None:
        with self._lock:
            self.state.throttle_list_accounts = times

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        """(status, headers, body) for one request: the gate's own answer or moto's."""
        target = headers.get("x-amz-target", "")
        if target.endswith(".ListAccounts"):
            with self._lock:
                self.state.list_accounts_calls += 1
                if self.state.throttle_list_accounts:
                    if self.state.throttle_list_accounts > 0:
                        self.state.throttle_list_accounts -= 1
                    throttled = json.dumps(
                        {"__type": "TooManyRequestsException", "Message": "Rate exceeded"}
                    ).encode()
                    return 400, {"Content-Type": "application/x-amz-json-1.1"}, throttled
        form = parse_qs(body.decode("utf-8", "replace")) if method == "POST" else {}
        if form.get("Action") == ["AssumeRole"]:
            role = form.get("RoleArn", [""])[0]
            with self._lock:
                denied = role in self.state.denied_roles
                self.state.assume_role_calls.append(
                    AssumeRoleCall(
                        role,
                        form.get("ExternalId", [None])[0],
                        form.get("RoleSessionName", [None])[0],
                        form.get("DurationSeconds", [None])[0],
                        denied,
                    )
                )
            if denied:
                return 403, {"Content-Type": "text/xml"}, _access_denied(role)
        status, reply_headers, reply = self._forward(method, path, headers, body)
        if form.get("Action") == ["AssumeRole"] and status == 200:
            self._remember_issued(reply)
        return status, reply_headers, reply

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection(*self._target, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            reply = response.read()
            kept = {k: v for k, v in response.getheaders() if k.lower() not in HOP_HEADERS}
            return response.status, kept, reply
        finally:
            connection.close()

    def _remember_issued(self, reply: bytes) -> None:
        text = reply.decode("utf-8", "replace")
        with self._lock:
            for name in ISSUED_FIELDS:
                self.state.issued += re.findall(f"<{name}>([^<]+)</{name}>", text)


def _access_denied(role: str) -> bytes:
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        "<Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:"
        f"user/server is not authorized to perform: sts:AssumeRole on resource: {role}"
        "</Message></Error><RequestId>gate</RequestId></ErrorResponse>"
    ).encode()


def _handler(gate: AwsGate) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:
            pass

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, reply_headers, reply = gate.answer(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply)

        do_GET = _relay  # noqa: N815 (http.server's naming)
        do_POST = _relay  # noqa: N815
        do_PUT = _relay  # noqa: N815
        do_DELETE = _relay  # noqa: N815
        do_HEAD = _relay  # noqa: N815

    return Handler
