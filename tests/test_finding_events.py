"""The `findingEvents` subscription over a real WebSocket session: the owner's findings as they
open and resolve, never another user's (both databases)."""

from __future__ import annotations

import asyncio
import uuid

from starlette.applications import Starlette

from graph.runtime import Runtime
from sync.findings.events import FINDING_EVENT_BUS
from tests.factories import access_token, create_user
from tests.sync_support import create_credential, make_service, sync_once
from tests.sync_support import record as base_record
from tests.test_findings_engine import BUCKETS, _bucket, inventory
from tests.websocket_sessions import open_socket, receive, subscribe

EVENTS = """
subscription {
  findingEvents { kind finding { status rule { id } resource { name } } }
}
"""


async def until_listening(user_id: uuid.UUID, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not FINDING_EVENT_BUS.listening(user_id):
        assert loop.time() < deadline, "the subscription never started"
        await asyncio.sleep(0.01)


async def test_the_subscription_pushes_its_users_transitions_only(
    app: Starlette, runtime: Runtime
) -> None:
    # given a watcher following their finding events, and another user whose sync opens findings
    watcher, other = await create_user(runtime), await create_user(runtime)
    theirs = await create_credential(runtime.database, other)
    mine = await create_credential(runtime.database, watcher)
    cloud, other_cloud = inventory(), inventory()
    other_cloud.rename(BUCKETS, "b-1", "not-yours")
    service = make_service(runtime.database, {theirs.id: other_cloud, mine.id: cloud})
    async with open_socket(app, access_token(runtime, watcher)) as ws:
        assert await subscribe(ws, "findings", EVENTS)
        await until_listening(watcher.id)
        # when the other user's sync opens findings, then the watcher's bucket opens one
        await sync_once(service, theirs.id)
        cloud.listings = {BUCKETS: cloud.listings[BUCKETS]}
        await sync_once(service, mine.id)
        # then the first push is the watcher's own finding
        message = await receive(ws)
        assert isinstance(message, dict) and message["type"] == "next", message
        pushed = message["payload"]["data"]["findingEvents"]
        assert pushed["kind"] == "OPENED"
        assert pushed["finding"]["resource"]["name"] == "b-1"
        assert pushed["finding"]["rule"]["id"] == "aws-s3-bucket-public-acl"
        # when the bucket is made private, the resolution is pushed too
        cloud.listings[BUCKETS] = [base_record("b-1", BUCKETS, configuration=_bucket(False))]
        await sync_once(service, mine.id)
        message = await receive(ws)
        assert isinstance(message, dict) and message["type"] == "next", message
        pushed = message["payload"]["data"]["findingEvents"]
        assert (pushed["kind"], pushed["finding"]["status"]) == ("RESOLVED", "RESOLVED")
