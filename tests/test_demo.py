"""`stratograph demo`: its setup steps, run for real (moto, the API, a sync), minus the wait."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from stratograph.demo import DEMO_EMAIL, EXAMPLES, instructions, prepare, start_demo

RESOURCE_TYPES = "query { resources(first: 100) { edges { node { type region } } } }"


async def test_the_demo_syncs_its_cloud_and_prints_what_to_paste(tmp_path: Path) -> None:
    # given the demo's cloud and server, started as `stratograph demo` does (ephemeral port)
    said: list[str] = []
    cloud, server, serving, base_url = await start_demo(
        tmp_path / "demo", "127.0.0.1", 0, said.append
    )
    try:
        # when the demo prepares its user, credential and sync
        session = await prepare(base_url, said.append)
        async with httpx.AsyncClient(base_url=base_url) as client:
            headers = {"authorization": f"Bearer {session.token}"}
            listed = await client.post("/graphql", json={"query": RESOURCE_TYPES}, headers=headers)
            answers = [
                await client.post("/graphql", json={"query": q}, headers=headers)
                for _, q in EXAMPLES
            ]
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 15)
        cloud.stop()
    # then the inventory holds the demo cloud, in every region, of several kinds
    nodes = [e["node"] for e in listed.json()["data"]["resources"]["edges"]]
    assert session.job_status == "SUCCEEDED"
    assert (
        session.resource_count
        == len(nodes)
        >= sum(cloud.counts[k] for k in ("instances", "buckets", "functions"))
    )
    assert {n["region"] for n in nodes} >= {"us-east-1", "eu-west-1", "ap-southeast-2"}
    assert {"VM", "STORAGE", "NETWORK", "FUNCTION"} <= {n["type"] for n in nodes}
    # and the three example queries work as printed, with the progress shown on the way
    assert [a.json().get("errors") for a in answers] == [None, None, None]
    assert any("sync" in line and "%" in line for line in said)
    text = instructions(base_url, session)
    assert f"{base_url}/graphql" in text and session.token in text and DEMO_EMAIL in text
