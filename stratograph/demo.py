"""`stratograph demo`: a working stratograph in one command, against a local AWS stand-in.

Starts moto with a small multi-region cloud, serves the API, then — through the public GraphQL
API, like any client — signs up a demo user, stores an AWS credential pointing at moto, runs a
real sync and prints what to paste into GraphiQL. Everything stays up until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from core.settings import Settings
from stratograph.demo_cloud import (
    DEMO_ACCESS_KEY_ID,
    DEMO_REGIONS,
    DEMO_SECRET_ACCESS_KEY,
    DemoCloud,
    populate,
    start_cloud,
)

Say = Callable[[str], None]
DEMO_EMAIL = "demo@example.com"
SYNC_DEADLINE_SECONDS = 120
TERMINAL = frozenset({"SUCCEEDED", "PARTIAL", "FAILED"})

SIGN_UP = """mutation ($input: SignUpInput!) { signUp(input: $input) { userErrors { message } } }"""
LOG_IN = """mutation ($input: LogInInput!) {
  logIn(input: $input) { accessToken userErrors { message } } }"""
ADD_CREDENTIAL = """mutation ($input: AddCredentialInput!) {
  addCredential(input: $input) { credential { id } userErrors { message } } }"""
START_SYNC = """mutation ($input: StartSyncInput!) {
  startSync(input: $input) { jobs { id status } userErrors { message } } }"""
JOB = """query ($id: ID!) { node(id: $id) { ... on SyncJob {
  status progress added updated removed errors { scope code message } } } }"""
COUNT = "query { resources(first: 1) { totalCount } }"

EXAMPLES = (
    (
        "Your estate at a glance",
        "query Overview {\n  dashboard {\n    totalResources activeVms estimatedMonthlyCost\n"
        "    regionDistribution { region count }\n"
        "    providerBreakdown { provider count vms storage networks }\n  }\n}",
    ),
    (
        "Running virtual machines",
        "query RunningVms {\n  resources(first: 10, filter: {type: [VM], status: [RUNNING]}) {\n"
        "    totalCount\n    edges { node { name region nativeType estimatedMonthlyCost } }\n"
        "  }\n}",
    ),
    (
        "Your credentials and their last sync",
        "query Credentials {\n  credentials {\n    name provider fingerprint resourceCount\n"
        "    lastSync { status added finishedAt }\n  }\n}",
    ),
)


@dataclass
class DemoSession:
    token: str
    password: str
    resource_count: int
    job_status: str


def demo_settings(workdir: Path, cloud_url: str) -> Settings:
    """A fresh SQLite database in `workdir`, the AWS endpoint on moto, only the demo regions."""
    return Settings(
        _env_file=None,  # a developer's .env must not point the demo at a real cloud
        environment="development",
        database_url=f"sqlite+aiosqlite:///{workdir / 'demo.db'}",
        dev_secrets_file=str(workdir / "demo.secrets.json"),
        aws_endpoint_url=cloud_url,
        aws_sync_regions=list(DEMO_REGIONS),
        allowed_hosts=["*"],
        log_level="WARNING",  # the demo's own lines are the progress report
    )


async def _call(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(f"demo request failed: {body['errors'][0].get('message')}")
    return body["data"]


def _payload(data: Any, field: str) -> Any:
    payload = data[field]
    if payload.get("userErrors"):
        raise RuntimeError(f"{field} refused: {payload['userErrors'][0]['message']}")
    return payload


async def prepare(base_url: str, say: Say) -> DemoSession:
    """Sign up, log in, store the AWS credential, run a sync to its end — all over the API."""
    # Random, not derived from the e-mail; the upper-case C and the trailing number satisfy the
    # policy whatever the random part holds (it may have no digit at all).
    password = f"Cirrus-{secrets.token_urlsafe(12)}-{secrets.randbelow(90) + 10}"
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        say(f"creating the demo user {DEMO_EMAIL}")
        user = {"email": DEMO_EMAIL, "password": password, "fullName": "Demo User"}
        _payload(await _call(client, SIGN_UP, {"input": user}), "signUp")
        login = {"email": DEMO_EMAIL, "password": password}
        token = _payload(await _call(client, LOG_IN, {"input": login}), "logIn")["accessToken"]
        client.headers["authorization"] = f"Bearer {token}"
        say("storing an AWS credential that points at the stand-in")
        secret = {
            "aws": {"accessKeyId": DEMO_ACCESS_KEY_ID, "secretAccessKey": DEMO_SECRET_ACCESS_KEY}
        }
        credential = {"name": "demo-aws", "defaultRegion": DEMO_REGIONS[0], "secret": secret}
        added = _payload(
            await _call(client, ADD_CREDENTIAL, {"input": credential}), "addCredential"
        )
        started = _payload(
            await _call(client, START_SYNC, {"input": {"credentialId": added["credential"]["id"]}}),
            "startSync",
        )
        job_id = started["jobs"][0]["id"]
        status = await _follow(client, job_id, say)
        count = (await _call(client, COUNT, {}))["resources"]["totalCount"]
    return DemoSession(token=token, password=password, resource_count=count, job_status=status)


async def _follow(client: httpx.AsyncClient, job_id: str, say: Say) -> str:
    """Poll the job until it ends, printing each change of its progress."""
    deadline = time.monotonic() + SYNC_DEADLINE_SECONDS
    last = None
    while True:
        job = (await _call(client, JOB, {"id": job_id}))["node"]
        shown = (job["status"], round(job["progress"] * 100))
        if shown != last:
            say(f"sync {job['status'].lower()}: {shown[1]}% ({job['added']} resources added)")
            last = shown
        if job["status"] in TERMINAL:
            for error in job["errors"]:
                say(f"  {error['scope']}: {error['code']} {error['message']}")
            return str(job["status"])
        if time.monotonic() > deadline:
            raise RuntimeError("the demo sync did not finish in time")
        await asyncio.sleep(0.3)


def instructions(base_url: str, session: DemoSession) -> str:
    lines = [
        "",
        f"stratograph is serving: open {base_url}/graphql in a browser (GraphiQL).",
        f"Log in as {DEMO_EMAIL} / {session.password}, or paste this header in GraphiQL:",
        "",
        f'  {{"Authorization": "Bearer {session.token}"}}',
        "",
        f"{session.resource_count} resources synced (job {session.job_status}). Try:",
    ]
    for title, query in EXAMPLES:
        lines += ["", f"# {title}", query]
    lines += ["", "Press Ctrl-C to stop (the API and the AWS stand-in).", ""]
    return "\n".join(lines)


def _fresh_directory(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)  # every demo starts from nothing
    workdir.mkdir(parents=True)


async def start_demo(
    workdir: Path, host: str, port: int, say: Say
) -> tuple[DemoCloud, uvicorn.Server, asyncio.Task[None], str]:
    """Moto up and populated, the database migrated, the API serving (not yet prepared)."""
    from db.migrate import upgrade
    from graph.app import create_app

    await asyncio.to_thread(_fresh_directory, workdir)
    say("starting the AWS stand-in (moto) on 127.0.0.1")
    cloud = start_cloud()
    say(f"creating a small cloud in {', '.join(DEMO_REGIONS)}")
    await asyncio.to_thread(populate, cloud)
    settings = demo_settings(workdir, cloud.url)
    say(f"creating the database {workdir / 'demo.db'}")
    await asyncio.to_thread(upgrade, settings.database_url)
    config = uvicorn.Config(
        create_app(settings), host=host, port=port, log_config=None, log_level="warning"
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        if serving.done() or time.monotonic() > deadline:
            cloud.stop()
            raise RuntimeError(f"the API could not listen on {host}:{port}")
        await asyncio.sleep(0.05)
    bound = server.servers[0].sockets[0].getsockname()[1]
    base_url = f"http://{host}:{bound}"
    say(f"API listening on {base_url}")
    return cloud, server, serving, base_url


async def run_demo(workdir: Path, host: str, port: int) -> int:
    # The numbered lines are the report; library chatter (HTTP calls, migrations) stays quiet.
    logging.getLogger().setLevel(logging.WARNING)
    steps = iter(range(1, 100))

    def say(message: str) -> None:
        print(f"[demo {next(steps):>2}] {message}", flush=True)

    cloud, server, serving, base_url = await start_demo(workdir, host, port, say)
    try:
        session = await prepare(base_url, say)
        print(instructions(base_url, session), flush=True)
        await serving  # uvicorn handles Ctrl-C / SIGTERM and returns
    except BaseException:
        server.should_exit = True
        await asyncio.gather(serving, return_exceptions=True)
        raise
    finally:
        cloud.stop()
    return 0


def main(workdir: str, host: str, port: int) -> int:
    try:
        return asyncio.run(run_demo(Path(workdir), host, port))
    except RuntimeError as error:
        print(f"stratograph demo: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
