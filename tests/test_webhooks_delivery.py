"""Webhooks end to end: a sync's SYNC_FINISHED reaches a local HTTPS receiver signed per the
Standard Webhooks specification, verified here with the `standardwebhooks` library."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook as Verifier

from core.settings import Settings
from db.enums import DeliveryStatus
from db.models import UserRow, WebhookRow
from graph.runtime import Runtime
from providers.base import Scope
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.sync_support import ScriptedInventory, make_service, record, sync_once
from tests.sync_support import create_credential as create_sync_credential
from tests.webhook_receiver import WebhookReceiver
from tests.webhook_support import ADD_WEBHOOK, FakeDNS, aim_at, deliveries

SCOPE = Scope("us-east-1", "ec2:instance")
Owner = tuple[UserRow, str]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, webhook_allow_private_networks=True)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(tmp_path / "receiver-ca.pem")
    yield server
    server.stop()


@pytest.fixture
def dns() -> FakeDNS:
    return FakeDNS(localhost=["127.0.0.1"])


@pytest.fixture
async def owner(runtime: Runtime) -> AsyncIterator[Owner]:
    user = await create_user(runtime)
    yield user, access_token(runtime, user)


async def add_webhook(
    gql: GraphQLClient, token: str, url: str, events: list[str]
) -> dict[str, Any]:
    response = await gql(ADD_WEBHOOK, {"input": {"url": url, "events": events}}, token=token)
    return response.ok()["addWebhook"]  # type: ignore[no-any-return]


async def test_a_finished_sync_is_delivered_signed_to_the_receiver(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, dns: FakeDNS, owner: Owner
) -> None:
    # Given a webhook for SYNC_FINISHED pointing at a local HTTPS receiver
    user, token = owner
    dispatcher = aim_at(runtime, receiver, dns)
    added = await add_webhook(gql, token, receiver.url, ["SYNC_FINISHED"])
    assert added["userErrors"] == [] and added["secret"].startswith("whsec_")
    # When a sync of one of the user's credentials finishes and the workers deliver
    credential = await create_sync_credential(runtime.database, user)
    inventory = ScriptedInventory({SCOPE: [record("i-1", SCOPE), record("i-2", SCOPE)]})
    service = make_service(runtime.database, {credential.id: inventory})
    job = await sync_once(service, credential.id)
    assert await dispatcher.run_once() == 1
    # Then the receiver got one POST whose signature the library verifies with the secret
    (hit,) = receiver.received
    body = Verifier(added["secret"]).verify(hit.body, hit.headers)
    assert hit.headers["webhook-id"].startswith("msg_")
    assert body["type"] == "sync.finished"
    jobs = await gql("{ syncJobs(first: 1) { edges { node { id status added } } } }", token=token)
    (edge,) = jobs.ok()["syncJobs"]["edges"]
    assert body["data"]["syncJob"]["id"] == edge["node"]["id"]
    assert body["data"]["syncJob"]["status"] == job.status.value == "SUCCEEDED"
    assert body["data"]["syncJob"]["added"] == 2
    # And a forged body fails verification
    with pytest.raises(Exception, match="signature"):
        Verifier(added["secret"]).verify(hit.body.replace(b"SUCCEEDED", b"FAILED"), hit.headers)
    # And the delivery log says how it went, without the secret
    log = await gql(
        "{ webhooks { deliveries(first: 5) { edges { node { eventType status attempts "
        "responseCode latencyMs errorReason } } } } }",
        token=token,
    )
    (webhook,) = log.ok()["webhooks"]
    (delivery,) = [e["node"] for e in webhook["deliveries"]["edges"]]
    assert delivery["status"] == "SUCCEEDED" and delivery["responseCode"] == 200
    assert delivery["attempts"] == 1 and delivery["latencyMs"] >= 0
    assert added["secret"] not in str(log.body)


async def test_the_secret_is_stored_sealed_and_bound_to_its_row(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, dns: FakeDNS, owner: Owner
) -> None:
    # Given two webhooks of one user
    _, token = owner
    aim_at(runtime, receiver, dns)
    first = await add_webhook(gql, token, receiver.url, ["SYNC_FINISHED"])
    second = await add_webhook(gql, token, receiver.url + "/2", ["SYNC_FINISHED"])
    async with runtime.database.system_session() as session:
        rows = {row.url: row for row in (await session.scalars(select(WebhookRow))).all()}
    # Then no row holds either secret in the clear
    for secret in (first["secret"], second["secret"]):
        for row in rows.values():
            assert secret.removeprefix("whsec_").encode() not in row.secret_ciphertext
    # When the first's ciphertext is copied into the second's row
    one, two = rows[receiver.url], rows[receiver.url + "/2"]
    async with runtime.database.system_session() as session:
        target = await session.get(WebhookRow, two.id)
        assert target is not None
        target.secret_ciphertext, target.key_id = one.secret_ciphertext, one.key_id
    # Then the second cannot sign with it: its test delivery fails and nothing is sent
    response = await gql(
        "mutation($id: ID!) { testWebhook(input: {id: $id}) { delivery { status errorReason } } }",
        {"id": second["webhook"]["id"]},
        token=token,
    )
    assert response.ok()["testWebhook"]["delivery"] == {
        "status": "FAILED",
        "errorReason": "the signing secret cannot be opened",
    }
    assert receiver.received == []


async def test_a_deleted_webhook_drops_its_queued_deliveries(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, dns: FakeDNS, owner: Owner
) -> None:
    # Given deliveries queued for a webhook
    user, token = owner
    dispatcher = aim_at(runtime, receiver, dns)
    added = await add_webhook(gql, token, receiver.url, ["SYNC_FINISHED"])
    credential = await create_sync_credential(runtime.database, user)
    service = make_service(
        runtime.database, {credential.id: ScriptedInventory({SCOPE: [record("i-1", SCOPE)]})}
    )
    await sync_once(service, credential.id)
    await sync_once(service, credential.id)
    assert len(await deliveries(runtime.database)) == 2
    # When the webhook is deleted before the workers run
    deleted = await gql(
        "mutation($id: ID!) { deleteWebhook(input: {id: $id}) { deletedId userErrors { code } } }",
        {"id": added["webhook"]["id"]},
        token=token,
    )
    assert deleted.ok()["deleteWebhook"]["deletedId"] == added["webhook"]["id"]
    # Then nothing is sent and nothing fails
    assert await dispatcher.run_once() == 0
    assert receiver.received == []
    assert await deliveries(runtime.database) == []


async def test_test_webhook_sends_one_signed_attempt_now(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, dns: FakeDNS, owner: Owner
) -> None:
    _, token = owner
    aim_at(runtime, receiver, dns)
    added = await add_webhook(gql, token, receiver.url, ["SECURITY_EVENT"])
    response = await gql(
        "mutation($id: ID!) { testWebhook(input: {id: $id}) { "
        "delivery { eventType status attempts responseCode } userErrors { code } } }",
        {"id": added["webhook"]["id"]},
        token=token,
    )
    delivery = response.ok()["testWebhook"]["delivery"]
    assert delivery == {
        "eventType": "webhook.test",
        "status": "SUCCEEDED",
        "attempts": 1,
        "responseCode": 200,
    }
    (hit,) = receiver.received
    assert Verifier(added["secret"]).verify(hit.body, hit.headers)["type"] == "webhook.test"


async def test_another_users_webhook_is_invisible_and_untouchable(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, dns: FakeDNS, owner: Owner
) -> None:
    # Given a webhook of one user
    _, token = owner
    aim_at(runtime, receiver, dns)
    added = await add_webhook(gql, token, receiver.url, ["SYNC_FINISHED"])
    hook_id = added["webhook"]["id"]
    intruder = access_token(runtime, await create_user(runtime))
    # When another user looks for it, tests, changes or deletes it
    seen = await gql(
        "query($id: ID!) { webhooks { id } node(id: $id) { id } }", {"id": hook_id}, token=intruder
    )
    assert seen.ok() == {"webhooks": [], "node": None}
    for mutation in ("deleteWebhook", "testWebhook"):
        result = await gql(
            f"mutation($id: ID!) {{ {mutation}(input: {{id: $id}}) "
            "{ userErrors { field code } } }",
            {"id": hook_id},
            token=intruder,
        )
        assert result.ok()[mutation]["userErrors"] == [
            {"field": ["input", "id"], "code": "NOT_FOUND"}
        ]
    changed = await gql(
        'mutation($id: ID!) { updateWebhook(input: {id: $id, url: "https://localhost/x"}) '
        "{ webhook { id } userErrors { code } } }",
        {"id": hook_id},
        token=intruder,
    )
    assert changed.ok()["updateWebhook"]["userErrors"] == [{"code": "NOT_FOUND"}]
    # Then it is unchanged and nothing was sent
    owned = await gql("{ webhooks { id url } }", token=token)
    assert owned.ok()["webhooks"] == [{"id": hook_id, "url": receiver.url}]
    assert receiver.received == []


async def test_bad_webhook_input_is_refused_with_user_errors(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, dns: FakeDNS, owner: Owner
) -> None:
    _, token = owner
    aim_at(runtime, receiver, dns)
    cases = {
        "ftp://localhost/x": "https://",
        "https://user:pw@localhost/x": "user name or password",
        "https://nowhere.invalid/x": "does not resolve",
        "not a url": "spaces",
    }
    for url, message in cases.items():
        response = await gql(
            ADD_WEBHOOK, {"input": {"url": url, "events": ["SYNC_FINISHED"]}}, token=token
        )
        payload = response.ok()["addWebhook"]
        assert payload["webhook"] is None and payload["secret"] is None
        (error,) = payload["userErrors"]
        assert error["field"] == ["input", "url"] and message in error["message"], (url, error)
    empty = await gql(ADD_WEBHOOK, {"input": {"url": receiver.url, "events": []}}, token=token)
    assert empty.ok()["addWebhook"]["userErrors"][0]["field"] == ["input", "events"]


def test_webhook_payload_ids_are_the_schemas_global_ids() -> None:
    from graph.node import to_global_id
    from integrations.webhooks.sync_events import global_id

    row = uuid.uuid4()
    assert global_id("SyncJob", row) == to_global_id("SyncJob", row)


async def test_security_events_are_queued_with_the_audit_event(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, dns: FakeDNS, owner: Owner
) -> None:
    from db.audit import record_audit
    from db.enums import AuditOutcome

    # Given a SECURITY_EVENT webhook and a SYNC_FINISHED one
    user, token = owner
    aim_at(runtime, receiver, dns)
    await add_webhook(gql, token, receiver.url, ["SECURITY_EVENT"])
    await add_webhook(gql, token, receiver.url + "/sync", ["SYNC_FINISHED"])
    # When a password change and an ordinary log-in are audited
    async with runtime.database.system_session() as session:
        record_audit(session, "password.change", AuditOutcome.SUCCESS, user_id=user.id)
        record_audit(session, "login", AuditOutcome.SUCCESS, user_id=user.id)
    # Then one security event is queued, for the subscribed webhook only
    (queued,) = await deliveries(runtime.database)
    assert queued.event_type == "security.event"
    assert queued.payload["data"]["securityEvent"]["action"] == "password.change"
    assert queued.status == DeliveryStatus.PENDING


async def test_a_burst_of_failed_log_ins_is_one_security_event(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, dns: FakeDNS, owner: Owner
) -> None:
    from db.audit import record_audit
    from db.enums import AuditOutcome

    user, token = owner
    aim_at(runtime, receiver, dns)
    await add_webhook(gql, token, receiver.url, ["SECURITY_EVENT"])
    # When seven log-ins fail for the account, one transaction each
    for _ in range(7):
        async with runtime.database.system_session() as session:
            record_audit(session, "login", AuditOutcome.FAILURE, user_id=user.id)
    # Then the fifth queued one `login.failures` event, and only that one
    (queued,) = await deliveries(runtime.database)
    assert queued.payload["data"]["securityEvent"]["action"] == "login.failures"


WEBHOOK_PAGE = """
{ webhooks { id url deliveries(first: 3) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id eventType status attempts } } } } }
"""


async def test_listing_webhooks_with_deliveries_costs_the_same_for_one_or_many(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, dns: FakeDNS, owner: Owner
) -> None:
    from tests.statement_counter import counting_statements

    _, token = owner
    aim_at(runtime, receiver, dns)
    counts = []
    for total in (1, 6):
        while len((await gql("{ webhooks { id } }", token=token)).ok()["webhooks"]) < total:
            added = await add_webhook(gql, token, receiver.url, ["SYNC_FINISHED"])
            for _ in range(4):  # four deliveries each: pages of three have a next page
                await gql(
                    "mutation($id: ID!) { testWebhook(input: {id: $id}) { userErrors { code } } }",
                    {"id": added["webhook"]["id"]},
                    token=token,
                )
        with counting_statements(runtime) as counter:
            hooks = (await gql(WEBHOOK_PAGE, token=token)).ok()["webhooks"]
        assert len(hooks) == total
        assert all(h["deliveries"]["totalCount"] == 4 for h in hooks)
        assert all(len(h["deliveries"]["edges"]) == 3 for h in hooks)
        assert all(h["deliveries"]["pageInfo"]["hasNextPage"] for h in hooks)
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    # The next page continues where the cursor points; the cursor is bound to its webhook
    first, other = hooks[0], hooks[1]
    next_page = """query($id: ID!, $a: String) { node(id: $id) { ... on Webhook {
      deliveries(first: 3, after: $a) { edges { node { id } } } } } }"""
    cursor = first["deliveries"]["pageInfo"]["endCursor"]
    rest = await gql(next_page, {"id": first["id"], "a": cursor}, token=token)
    assert len(rest.ok()["node"]["deliveries"]["edges"]) == 1
    elsewhere = await gql(next_page, {"id": other["id"], "a": cursor}, token=token)
    assert elsewhere.error_codes == ["BAD_REQUEST"]
