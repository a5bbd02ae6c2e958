"""An HTTP endpoint that accepts every connection and answers only what it is told to.

Requests whose body names one of `forward_actions` (AWS query-protocol `Action=…`) are passed to
a real stand-in (moto), so a credential can still be verified and a sync planned; every other
request is read and then never answered, like a cloud endpoint behind a black-holing network.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class HangingEndpoint:
    def __init__(self, forward_to: str, forward_actions: tuple[str, ...] = ()) -> None:
        self.forward_to = urlsplit(forward_to)
        self.forward_actions = forward_actions
        self.released = threading.Event()
        self.hung = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                return None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                if any(f"Action={a}".encode() in body for a in endpoint.forward_actions):
                    self._forward(body)
                    return
                self._hang()

            def do_GET(self) -> None:  # REST services (S3, Lambda) use GET
                self._hang()

            def _hang(self) -> None:
                endpoint.hung += 1
                endpoint.released.wait()  # never answer (until the test ends)
                self.close_connection = True

            def _forward(self, body: bytes) -> None:
                target = endpoint.forward_to
                connection = http.client.HTTPConnection(target.hostname or "", target.port)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection.request("POST", self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                connection.close()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
