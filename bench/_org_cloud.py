"""A stand-in multi-account cloud for `bench/org_sync.py`: a loopback HTTP server that answers
every call after a fixed delay (a cloud API's latency), and the `MultiAccountInventory` that
lists it over HTTP, as a provider lists a real cloud.

Calls: `GET /accounts`, `GET /accounts/<id>/scopes`, `GET /accounts/<id>/scopes/<kind>`.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from db.enums import Provider, ResourceStatus, ResourceType
from providers.base import CloudAccountInfo, ResourceRecord, Scope

REGION = "us-east-1"


def account_ids(count: int) -> list[str]:
    return [str(200000000000 + n) for n in range(count)]


def kinds(count: int) -> list[str]:
    return [f"Bench::Kind::K{n}" for n in range(count)]


class OrgCloud:
    """The server, in a thread of the benchmark's process."""

    def __init__(self, accounts: int, scopes: int, records: int, delay: float) -> None:
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(cloud.delay)
                body = json.dumps(cloud.answer(self.path.strip("/").split("/"))).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                return None

        self.accounts, self.scopes, self.records, self.delay = accounts, scopes, records, delay
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: list[str]) -> Any:
        if path == ["accounts"]:
            return [{"id": a, "name": f"bench-{a}"} for a in account_ids(self.accounts)]
        if len(path) == 3:
            return kinds(self.scopes)
        account, kind = path[1], path[3]
        return [f"{account}-{kind}-{n}" for n in range(self.records)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HttpOrganization:
    """A `MultiAccountInventory` over the stand-in (one HTTP call per discovery, plan, scope)."""

    provider = Provider.AWS

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(base_url=url, timeout=60)

    async def _get(self, path: str) -> Any:
        response = await self.client.get(path)
        response.raise_for_status()
        return response.json()

    async def verify(self) -> None:
        await self._get("/accounts")

    async def accounts(self) -> list[CloudAccountInfo]:
        return [CloudAccountInfo(a["id"], a["name"]) for a in await self._get("/accounts")]

    async def plan_account(self, account: CloudAccountInfo) -> list[Scope]:
        found = await self._get(f"/accounts/{account.account_id}/scopes")
        return [Scope(REGION, kind, account=account.account_id) for kind in found]

    async def plan(self) -> list[Scope]:
        return [s for a in await self.accounts() for s in await self.plan_account(a)]

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        ids = await self._get(f"/accounts/{scope.account}/scopes/{scope.kind}")
        return [self._record(scope, resource_id) for resource_id in ids]

    @staticmethod
    def _record(scope: Scope, resource_id: str) -> ResourceRecord:
        return ResourceRecord(
            provider=Provider.AWS,
            account=scope.account,
            region=scope.region,
            type=ResourceType.VM,
            native_type=scope.kind,
            resource_id=resource_id,
            name=resource_id,
            status=ResourceStatus.RUNNING,
            tags={"env": "bench"},
        )

    async def close(self) -> None:
        await self.client.aclose()
