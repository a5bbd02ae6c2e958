"""Two `stratograph serve` and two `stratograph worker` processes on one PostgreSQL and Redis.

Shows what running on several machines relies on: the rate limit is one limit across servers,
concurrent `startSync` calls on different servers make one job per credential, each job runs once,
a worker killed mid-job has its job recovered by the other, and a worker stopped with SIGTERM hands
its running job back to the queue.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.cluster import Cluster, ClusterDatabase, Process, cluster_env, free_port
from tests.services import require_postgres, require_redis
from tests.standins.aws import AMI, MotoServer

REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
PASSWORD = "Cluster-Horse-42"
LOGIN_LIMIT = 5
SIGN_UP = "mutation ($i: SignUpInput!) { signUp(input: $i) { userErrors { code } } }"
LOG_IN = "mutation ($i: LogInInput!) { logIn(input: $i) { accessToken userErrors { code } } }"
ADD = """mutation ($i: AddCredentialInput!) {
  addCredential(input: $i) { credential { id } userErrors { code } } }"""
START_ALL = "mutation { startSync(input: {}) { jobs { id } userErrors { code } } }"
JOBS = """SELECT id, credential_id, status::text AS status, worker_id, attempts, progress
          FROM sync_jobs ORDER BY queued_at"""


def random_ip() -> str:
    return f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"


async def gql(
    client: httpx.AsyncClient,
    server: Process,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    ip: str = "198.18.0.1",
) -> dict[str, Any]:
    headers = {"x-forwarded-for": ip}
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = await client.post(
        server.url + "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


def succeeded_jobs(metrics_text: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "stratograph_sync_jobs_total" and sample.labels == {
                "status": "SUCCEEDED"
            }:
                return sample.value
    return 0.0


def error_codes(body: dict[str, Any]) -> list[str]:
    return [(e.get("extensions") or {}).get("code", "") for e in body.get("errors") or []]


async def poll(condition: Any, what: str, seconds: float) -> Any:
    """Await `condition()` until it returns something truthy, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = await condition()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[Cluster, ClusterDatabase, MotoServer]]:
    admin_dsn = require_postgres()
    redis_url = require_redis()
    moto = MotoServer()
    for region in REGIONS:
        moto.client("ec2", region).run_instances(ImageId=AMI, MinCount=2, MaxCount=2)
    database = ClusterDatabase(admin_dsn)
    await database.create()
    env = cluster_env(
        database.app_url,
        redis_url,
        tmp_path,
        RATE_LIMIT_LOGIN=f"{LOGIN_LIMIT}/minute",
        RATE_LIMIT_DEFAULT="1000/minute",
        SYNC_IN_PROCESS="false",  # servers only enqueue; workers run jobs
        SYNC_INTERVAL_MINUTES="0",
        SYNC_STALE_AFTER_SECONDS="10",  # the smallest allowed: recovery within seconds
        SYNC_CONCURRENCY="1",
        AWS_ENDPOINT_URL=moto.url,
        AWS_SYNC_REGIONS=",".join(REGIONS),
        STANDIN_SCOPE_DELAY="0.15",
    )
    cluster = Cluster(env, tmp_path)
    try:
        await asyncio.to_thread(database.migrate, env)
        await database.grant_app_role()
        yield cluster, database, moto
    finally:
        cluster.close()
        moto.stop()
        await database.drop()


async def test_two_servers_and_two_workers_share_limits_queue_and_recovery(
    cluster: tuple[Cluster, ClusterDatabase, MotoServer],
) -> None:
    processes, database, _ = cluster
    servers = [processes.serve("serve-a"), processes.serve("serve-b")]
    await asyncio.gather(*(processes.wait_ready(s) for s in servers))
    async with httpx.AsyncClient(timeout=30) as client:
        # given a user on the cluster, with two AWS credentials
        user = {"email": "owner@example.com", "password": PASSWORD, "fullName": "Owner"}
        await gql(client, servers[0], SIGN_UP, {"i": user})
        login = {"email": user["email"], "password": PASSWORD}
        session = await gql(client, servers[1], LOG_IN, {"i": login}, ip=random_ip())
        token = session["data"]["logIn"]["accessToken"]
        for n in range(2):
            secret = {"aws": {"accessKeyId": f"AKIACLUSTER0000000{n}", "secretAccessKey": "x" * 40}}
            added = await gql(
                client, servers[n], ADD, {"i": {"name": f"aws-{n}", "secret": secret}}, token=token
            )
            assert added["data"]["addCredential"]["userErrors"] == []

        # when an attacker tries twelve log-ins from one address, alternating servers
        attacker = random_ip()
        # (fresh keys: Redis outlives test runs, its counters must not carry over)
        guess = {"email": f"victim-{uuid.uuid4().hex[:8]}@example.com", "password": "guess"}
        answers = [
            await gql(client, servers[n % 2], LOG_IN, {"i": guess}, ip=attacker) for n in range(12)
        ]
        # then the two servers together let through no more than one limit's worth
        accepted = [a for a in answers if "RATE_LIMITED" not in error_codes(a)]
        assert len(accepted) == LOGIN_LIMIT  # one server alone would have let 5 of its 6 in

        # when ten startSync calls hit both servers at once (no worker is running yet)
        started = await asyncio.gather(
            *(gql(client, servers[n % 2], START_ALL, token=token) for n in range(10))
        )
        # then there is one job per credential, and every call got those same jobs
        ids = {tuple(sorted(j["id"] for j in s["data"]["startSync"]["jobs"])) for s in started}
        assert len(ids) == 1 and len(next(iter(ids))) == 2
        assert len(await database.fetch(JOBS)) == 2

        # when two workers start, each job runs once, and both end
        metrics_ports = [free_port(), free_port()]
        workers = [
            processes.start(
                f"worker-{n}",
                "--metrics-port",
                str(metrics_ports[n]),
                "--metrics-host",
                "127.0.0.1",
                module="tests.slow_worker",
            )
            for n in range(2)
        ]

        async def all_succeeded() -> list[Any] | None:
            rows = await database.fetch(JOBS)
            return rows if all(r["status"] == "SUCCEEDED" for r in rows) else None

        done = await poll(all_succeeded, "the two jobs to succeed", 30)
        assert len(done) == 2 and [r["attempts"] for r in done] == [1, 1]
        # and the workers' own metrics endpoints count them (servers ran none)
        scraped = [
            (await client.get(f"http://127.0.0.1:{port}/metrics")).text for port in metrics_ports
        ]
        assert sum(succeeded_jobs(text) for text in scraped) == 2
        assert all("stratograph_db_pool_checked_out" in text for text in scraped)

        # when a worker is killed (SIGKILL) in the middle of a job
        await gql(client, servers[0], START_ALL, token=token)

        async def running() -> Any:
            rows = await database.fetch(JOBS)
            live = [r for r in rows if r["status"] == "RUNNING" and r["progress"] > 0]
            return live[0] if live else None

        mid = await poll(running, "a job in flight", 20)
        victim = next(w for w in workers if f":{w.popen.pid}:" in mid["worker_id"])
        survivor = next(w for w in workers if w is not victim)
        victim.popen.send_signal(signal.SIGKILL)
        victim.popen.wait(10)

        # then the other worker recovers the job and runs it to the end
        async def recovered() -> Any:
            rows = [r for r in await database.fetch(JOBS) if r["id"] == mid["id"]]
            return rows[0] if rows and rows[0]["status"] == "SUCCEEDED" else None

        finished = await poll(recovered, "the killed worker's job to be recovered", 40)
        assert finished["attempts"] == 2
        assert f":{survivor.popen.pid}:" in finished["worker_id"]

        # when the surviving worker gets SIGTERM while it runs a job
        await poll(all_succeeded, "the other job of that round to end", 30)
        await gql(client, servers[1], START_ALL, token=token)
        second = await poll(running, "another job in flight", 20)
        survivor.popen.send_signal(signal.SIGTERM)
        # then it exits cleanly and the job is back in the queue for the next worker
        assert await asyncio.to_thread(survivor.popen.wait, 15) == 0
        rows = [r for r in await database.fetch(JOBS) if r["id"] == second["id"]]
        assert rows[0]["status"] == "QUEUED" and rows[0]["worker_id"] is None
