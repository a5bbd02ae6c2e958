"""The floor: the same responses as the GraphQL queries, fetched by hand with asyncpg and written
with orjson. It does the same security work as the server (token check, user lookup, the
per-transaction `set_config` that row-level security reads, signed cursors), nothing more.

`/resources` reads its page arguments from the JSON body (`first`, default 100; `provider` and
`type`, lists that narrow it as the GraphQL filter does); the other routes ignore the body.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from graph.connections.cursors import CursorCodec
from graph.node import to_global_id
from graph.runtime import Runtime

HOURS_PER_MONTH = 730
Handler = Callable[[asyncpg.Connection, uuid.UUID, dict[str, Any]], Awaitable[dict[str, Any]]]

PAGE = """
SELECT id, name, provider, type, native_type, resource_id, region, account, status, tags,
       cost_per_hour, last_synced_at
FROM resources WHERE user_id = $1 AND deleted_at IS NULL {where} ORDER BY name, id LIMIT $2
"""
PAGE_FILTERS = ("provider", "type")  # body keys that are also column names
CREDENTIALS = (
    "SELECT id, name, provider FROM cloud_credentials WHERE user_id = $1 ORDER BY name, id"
)
# Counts and totals come from `resource_counts`, which the sync write path keeps; each page is
# 11 rows through the (credential_id, name, id) index, as the product reads them.
COUNTS = """
SELECT credential_id, sum(count) FROM resource_counts
WHERE user_id = $1 AND credential_id = ANY($2) GROUP BY credential_id
"""
FIRST_TEN = """
SELECT page.* FROM unnest($2::uuid[]) AS credential(id) CROSS JOIN LATERAL (
  SELECT id, credential_id, name, type, status, region FROM resources
  WHERE user_id = $1 AND credential_id = credential.id AND deleted_at IS NULL
  ORDER BY name, id LIMIT 11
) page
"""
LAST_SYNC = """
SELECT credential.id, job.id, job.status FROM unnest($2::uuid[]) AS credential(id)
CROSS JOIN LATERAL (
  SELECT id, status FROM sync_jobs WHERE user_id = $1 AND credential_id = credential.id
  ORDER BY queued_at DESC, id DESC LIMIT 1
) job
"""
PER_PROVIDER = """
SELECT provider, sum(count),
  sum(CASE WHEN type = 'VM' THEN count ELSE 0 END),
  sum(CASE WHEN type = 'STORAGE' THEN count ELSE 0 END),
  sum(CASE WHEN type = 'NETWORK' THEN count ELSE 0 END),
  sum(CASE WHEN type = 'VM' AND status = 'RUNNING' THEN count ELSE 0 END),
  sum(CASE WHEN status NOT IN ('STOPPED', 'TERMINATED') AND priced > 0 THEN cost_per_hour END),
  max(last_synced_at)
FROM resource_counts WHERE user_id = $1 AND count > 0 GROUP BY provider ORDER BY provider
"""
PER_SERVICE = """
SELECT native_type, sum(cost_per_hour) AS total FROM resource_counts
WHERE user_id = $1 AND count > 0 AND priced > 0 AND status NOT IN ('STOPPED', 'TERMINATED')
GROUP BY native_type ORDER BY total DESC, native_type LIMIT 20
"""
PER_REGION = """
SELECT region, sum(count) AS n FROM resource_counts WHERE user_id = $1 AND count > 0
GROUP BY region ORDER BY n DESC, region LIMIT 10
"""
HEALTH = """
SELECT id, name, health_status, health_checked_at FROM cloud_credentials
WHERE user_id = $1 ORDER BY name
"""
EVENTS = """
SELECT action, outcome, created_at FROM audit_events WHERE user_id = $1
ORDER BY created_at DESC, id DESC LIMIT 5
"""
JOBS = """
SELECT status, added, updated, removed, queued_at, started_at, finished_at FROM sync_jobs
WHERE user_id = $1 ORDER BY queued_at DESC, id DESC LIMIT 5
"""


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None


def _monthly(hourly: Any) -> float:
    return round(float(hourly or 0.0) * HOURS_PER_MONTH, 2)


class Floor:
    def __init__(self, runtime: Runtime, dsn: str) -> None:
        self.runtime = runtime
        self.dsn = dsn
        self.codec = CursorCodec(runtime.settings.secret_key)
        self.pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        self.pool = await asyncpg.create_pool(self.dsn, min_size=4, max_size=20)

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/resources", self._endpoint(self.resources), methods=["POST"]),
                Route("/credentials", self._endpoint(self.credentials), methods=["POST"]),
                Route("/dashboard", self._endpoint(self.dashboard), methods=["POST"]),
            ]
        )

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            args = orjson.loads(body) if body else {}
            token = request.headers["authorization"].partition(" ")[2]
            claims = self.runtime.signer.verify_access(token)
            assert self.pool is not None
            async with self.pool.acquire() as connection:
                async with connection.transaction():
                    await self._act_as(connection, claims.user_id)
                    user = await connection.fetchrow(
                        "SELECT id, is_active FROM users WHERE id = $1", claims.user_id
                    )
                    if user is None or not user["is_active"]:
                        return Response(status_code=401)
                async with connection.transaction():
                    await self._act_as(connection, claims.user_id)
                    data = await handler(connection, claims.user_id, args)
            return Response(orjson.dumps({"data": data}), media_type="application/json")

        return endpoint

    async def _act_as(self, connection: asyncpg.Connection, user_id: uuid.UUID) -> None:
        await connection.execute(
            "SELECT set_config('app.user_id', $1, true), set_config('app.role', 'user', true)",
            str(user_id),
        )

    async def resources(
        self, connection: asyncpg.Connection, user_id: uuid.UUID, args: dict[str, Any]
    ) -> dict[str, Any]:
        first = int(args.get("first", 100))
        where, values = "", []
        for column in PAGE_FILTERS:
            if column in args:
                values.append(list(args[column]))
                where += f" AND {column} = ANY(${len(values) + 2})"
        rows = await connection.fetch(PAGE.format(where=where), user_id, first + 1, *values)
        binding = f"resources:NAME:ASC|{user_id}"
        edges = [
            {
                "cursor": self.codec.encode(binding, (r["name"], r["id"]), ("str", "uuid")),
                "node": {
                    "id": to_global_id("CloudResource", r["id"]),
                    "name": r["name"],
                    "provider": r["provider"],
                    "type": r["type"],
                    "nativeType": r["native_type"],
                    "resourceId": r["resource_id"],
                    "region": r["region"],
                    "account": r["account"],
                    "status": r["status"],
                    "tags": orjson.Fragment(r["tags"]),
                    "costPerHour": r["cost_per_hour"],
                    "lastSyncedAt": r["last_synced_at"].isoformat(),
                },
            }
            for r in rows[:first]
        ]
        page_info = {
            "hasNextPage": len(rows) > first,
            "endCursor": edges[-1]["cursor"] if edges else None,
        }
        return {"resources": {"pageInfo": page_info, "edges": edges}}

    async def credentials(
        self, connection: asyncpg.Connection, user_id: uuid.UUID, _: dict[str, Any]
    ) -> dict[str, Any]:
        credentials = await connection.fetch(CREDENTIALS, user_id)
        ids = [c["id"] for c in credentials]
        counts = dict(await connection.fetch(COUNTS, user_id, ids))
        firsts: dict[uuid.UUID, list[Any]] = {i: [] for i in ids}
        for row in await connection.fetch(FIRST_TEN, user_id, ids):
            firsts[row["credential_id"]].append(row)
        syncs = {r[0]: r for r in await connection.fetch(LAST_SYNC, user_id, ids)}
        listed = []
        for credential in credentials:
            global_id = to_global_id("CloudCredential", credential["id"])
            binding = f"credential-resources:NAME:ASC|{global_id}|{user_id}"
            rows = firsts[credential["id"]]
            edges = [
                {
                    "cursor": self.codec.encode(binding, (r["name"], r["id"]), ("str", "uuid")),
                    "node": {
                        "id": to_global_id("CloudResource", r["id"]),
                        "name": r["name"],
                        "type": r["type"],
                        "status": r["status"],
                        "region": r["region"],
                    },
                }
                for r in rows[:10]
            ]
            sync = syncs.get(credential["id"])
            listed.append(
                {
                    "id": global_id,
                    "name": credential["name"],
                    "provider": credential["provider"],
                    "resourceCount": counts.get(credential["id"], 0),
                    "lastSync": sync
                    and {"id": to_global_id("SyncJob", sync[1]), "status": sync[2]},
                    "resources": {
                        "pageInfo": {
                            "hasNextPage": len(rows) > 10,
                            "endCursor": edges[-1]["cursor"] if edges else None,
                        },
                        "edges": edges,
                    },
                }
            )
        return {"credentials": listed}

    async def dashboard(
        self, connection: asyncpg.Connection, user_id: uuid.UUID, _: dict[str, Any]
    ) -> dict[str, Any]:
        providers = await connection.fetch(PER_PROVIDER, user_id)
        services = await connection.fetch(PER_SERVICE, user_id)
        regions = await connection.fetch(PER_REGION, user_id)
        health = await connection.fetch(HEALTH, user_id)
        events = await connection.fetch(EVENTS, user_id)
        jobs = await connection.fetch(JOBS, user_id)
        activity = [
            {
                "kind": "AUDIT_EVENT",
                "at": e["created_at"],
                "summary": f"{e['action']}: {e['outcome']}",
            }
            for e in events
        ]
        for j in jobs:
            summary = f"sync {j['status']}"
            if j["status"] not in ("QUEUED", "RUNNING"):
                summary += f": {j['added']} added, {j['updated']} updated, {j['removed']} removed"
            at = j["finished_at"] or j["started_at"] or j["queued_at"]
            activity.append({"kind": "SYNC_JOB", "at": at, "summary": summary})
        activity.sort(key=lambda entry: entry["at"], reverse=True)
        moments = [p[7] for p in providers if p[7] is not None]
        costs = [{"provider": p[0], "cost": _monthly(p[6])} for p in providers]
        return {
            "dashboard": {
                "totalResources": sum(p[1] for p in providers),
                "activeVms": sum(p[5] for p in providers),
                "totalStorage": sum(p[3] for p in providers),
                "totalNetworks": sum(p[4] for p in providers),
                "estimatedMonthlyCost": _monthly(sum(float(p[6] or 0.0) for p in providers)),
                "providerBreakdown": [
                    {
                        "provider": p[0],
                        "count": p[1],
                        "vms": p[2],
                        "storage": p[3],
                        "networks": p[4],
                    }
                    for p in providers
                ],
                "costByProvider": sorted(costs, key=lambda c: (-c["cost"], c["provider"])),
                "costByService": [{"service": s[0], "cost": _monthly(s[1])} for s in services],
                "regionDistribution": [{"region": r[0], "count": r[1]} for r in regions],
                "providerHealth": [
                    {
                        "credential": {"id": to_global_id("CloudCredential", h[0]), "name": h[1]},
                        "health": {"status": h[2], "checkedAt": _iso(h[3])},
                    }
                    for h in health
                ],
                "recentActivity": [
                    {"kind": a["kind"], "at": a["at"].isoformat(), "summary": a["summary"]}
                    for a in activity[:5]
                ],
                "lastUpdated": _iso(max(moments)) if moments else None,
            }
        }
