"""WebhookRow attacks and faults: SSRF targets (also by DNS rebinding), and receivers that fail,
hang, redirect or stream without end. The guard runs at connect time, so every case here would
reach the receiver on 127.0.0.1 if it did not."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from core.settings import Settings
from db.enums import DeliveryStatus
from db.models import WebhookDeliveryRow, WebhookRow
from db.types import utcnow
from graph.runtime import Runtime
from integrations.webhooks.events import payload
from integrations.webhooks.signing import new_secret, seal_secret
from integrations.webhooks.ssrf import AddressPolicy, BlockedAddress
from integrations.webhooks.transport import Limits
from tests.conftest import make_settings
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.webhook_receiver import Behaviour, WebhookReceiver
from tests.webhook_support import ADD_WEBHOOK, FakeDNS, aim_at, deliveries


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, webhook_allow_private_networks=False)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(tmp_path / "receiver-ca.pem")
    yield server
    server.stop()


async def queued_hook(runtime: Runtime, url: str, *, count: int = 1) -> uuid.UUID:
    """A webhook row and `count` due deliveries, written directly (registration not involved)."""
    user = await create_user(runtime)
    hook_id = uuid.uuid4()
    sealed = seal_secret(runtime.vault, new_secret(), user.id, hook_id)
    now = utcnow()
    async with runtime.database.system_session() as session:
        session.add(
            WebhookRow(
                id=hook_id, user_id=user.id, url=url, events=["SYNC_FINISHED"], enabled=True,
                key_id=sealed.key_id, secret_ciphertext=sealed.blob, consecutive_failures=0,
            )
        )  # fmt: skip
        await session.flush()
        rows = [
            {
                "id": uuid.uuid4(), "user_id": user.id, "webhook_id": hook_id,
                "event_type": "sync.finished", "payload": payload("sync.finished", {"n": i}, now),
                "status": DeliveryStatus.PENDING, "attempts": 0, "next_attempt_at": now,
                "created_at": now + timedelta(microseconds=i),
            }
            for i in range(count)
        ]  # fmt: skip
        await session.execute(insert(WebhookDeliveryRow), rows)
    return hook_id


TARGETS = {
    "loopback": ["127.0.0.1"],
    "metadata": ["169.254.169.254"],
    "private": ["10.0.0.7"],
    "ipv6-loopback": ["::1"],
    "ipv4-mapped": ["::ffff:127.0.0.1"],
    "one-bad-of-two": ["8.8.8.8", "127.0.0.1"],
}


@pytest.mark.parametrize("target", list(TARGETS))
async def test_internal_addresses_are_refused_at_registration(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, target: str
) -> None:
    # Given a name that resolves to an internal address
    dns = FakeDNS(**{"hooks_example_com": TARGETS[target]})
    aim_at(runtime, receiver, dns, allow_private=False)
    token = access_token(runtime, await create_user(runtime))
    # When someone registers it
    response = await gql(
        ADD_WEBHOOK,
        {"input": {"url": "https://hooks.example.com/x", "events": ["SYNC_FINISHED"]}},
        token=token,
    )
    # Then it is refused, naming the kind of address but not the address
    (error,) = response.ok()["addWebhook"]["userErrors"]
    assert error["field"] == ["input", "url"] and error["code"] == "INVALID"
    assert "refused address" in error["message"]
    assert TARGETS[target][-1] not in error["message"]


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1:{port}/x", "https://[::1]:{port}/x", "https://169.254.169.254/x"]
)
async def test_literal_internal_addresses_are_refused_at_registration(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver, url: str
) -> None:
    aim_at(runtime, receiver, FakeDNS(), allow_private=False)
    token = access_token(runtime, await create_user(runtime))
    response = await gql(
        ADD_WEBHOOK,
        {"input": {"url": url.format(port=receiver.port), "events": ["SYNC_FINISHED"]}},
        token=token,
    )
    (error,) = response.ok()["addWebhook"]["userErrors"]
    assert "refused address" in error["message"]


@pytest.mark.parametrize("target", ["127.0.0.1", "169.254.169.254", "10.0.0.7", "::1"])
async def test_delivery_to_an_internal_address_fails_without_connecting(
    runtime: Runtime, receiver: WebhookReceiver, target: str
) -> None:
    # Given a queued delivery to a name resolving to an internal address (127.0.0.1 is where
    # the receiver listens: without the guard, the request would arrive)
    dns = FakeDNS(localhost=[target])
    dispatcher = aim_at(runtime, receiver, dns, allow_private=False)
    hook_id = await queued_hook(runtime, receiver.url)
    # When the workers deliver
    assert await dispatcher.run_once() == 1
    # Then it failed for good, with the reason, and nothing reached the receiver
    (delivery,) = await deliveries(runtime.database, hook_id)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error_reason.startswith("refused: the host resolves to a refused address")
    assert delivery.response_code is None
    assert receiver.received == []
    assert dispatcher.options.connector.attempted == []  # not even a connection attempt


async def test_a_name_rebinding_after_registration_is_refused_at_delivery(
    runtime: Runtime, gql: GraphQLClient, receiver: WebhookReceiver
) -> None:
    # Given a webhook whose name resolved to a public address when it was registered
    dns = FakeDNS(localhost=["8.8.8.8"])
    dispatcher = aim_at(runtime, receiver, dns, allow_private=False)
    token = access_token(runtime, await create_user(runtime))
    added = await gql(
        ADD_WEBHOOK, {"input": {"url": receiver.url, "events": ["SECURITY_EVENT"]}}, token=token
    )
    assert added.ok()["addWebhook"]["userErrors"] == []
    # When the name now answers with the loopback address and a test event is sent
    dns.set("localhost", ["127.0.0.1"])
    response = await gql(
        "mutation($id: ID!) { testWebhook(input: {id: $id}) { delivery { status errorReason } } }",
        {"id": added.ok()["addWebhook"]["webhook"]["id"]},
        token=token,
    )
    # Then the delivery is refused at connect time, marked failed with the reason
    delivery = response.ok()["testWebhook"]["delivery"]
    assert delivery["status"] == "FAILED"
    assert "refused address (loopback)" in delivery["errorReason"]
    assert receiver.received == []
    assert dispatcher.options.connector.attempted == []
    assert dns.lookups.count("localhost") == 2  # registration and delivery each resolved


async def test_private_networks_are_reachable_only_when_allowed(
    runtime: Runtime, receiver: WebhookReceiver
) -> None:
    dispatcher = aim_at(runtime, receiver, FakeDNS(localhost=["127.0.0.1"]), allow_private=True)
    hook_id = await queued_hook(runtime, receiver.url)
    assert await dispatcher.run_once() == 1
    (delivery,) = await deliveries(runtime.database, hook_id)
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(receiver.received) == 1
    # Cloud metadata stays refused even then
    with pytest.raises(BlockedAddress):
        AddressPolicy(allow_private_networks=True).check("169.254.169.254")


async def test_a_failing_receiver_is_retried_with_backoff_then_the_hook_is_disabled(
    runtime: Runtime, receiver: WebhookReceiver
) -> None:
    # Given a receiver answering 500, two attempts per delivery, disabling after two deliveries
    receiver.behaviour = Behaviour("status", 500)
    dispatcher = aim_at(
        runtime, receiver, FakeDNS(localhost=["127.0.0.1"]),
        max_attempts=2, disable_after_failed_deliveries=2,
    )  # fmt: skip
    hook_id = await queued_hook(runtime, receiver.url, count=3)
    # When the workers try: the first attempts fail and are scheduled again later
    started = utcnow()
    assert await dispatcher.run_once() == 3
    first = await deliveries(runtime.database, hook_id)
    assert {d.status for d in first} == {DeliveryStatus.PENDING}
    assert all(d.response_code == 500 and d.error_reason == "HTTP 500" for d in first)
    assert all(d.next_attempt_at >= started + timedelta(seconds=30) for d in first)
    assert await dispatcher.run_once() == 0  # nothing due yet
    # When the clock passes the backoff: the second attempts fail too, and that is final
    later = utcnow() + timedelta(minutes=1)
    dispatcher.clock = lambda: later
    assert await dispatcher.run_once() == 3
    final = await deliveries(runtime.database, hook_id)
    assert {(d.status, d.attempts) for d in final} == {(DeliveryStatus.FAILED, 2)}
    # Then the webhook was disabled after its second failed delivery, with the reason
    async with runtime.database.system_session() as session:
        hook = await session.get(WebhookRow, hook_id)
    assert hook is not None and hook.enabled is False
    assert hook.disabled_reason == "Disabled after 2 deliveries in a row failed."
    assert len(receiver.received) == 6


async def test_a_hanging_receiver_times_out(runtime: Runtime, receiver: WebhookReceiver) -> None:
    receiver.behaviour = Behaviour("hang")
    limits = Limits(connect_seconds=2, read_seconds=0.5, total_seconds=5)
    dispatcher = aim_at(runtime, receiver, FakeDNS(localhost=["127.0.0.1"]), limits=limits)
    hook_id = await queued_hook(runtime, receiver.url)
    assert await dispatcher.run_once() == 1
    (delivery,) = await deliveries(runtime.database, hook_id)
    assert delivery.status == DeliveryStatus.PENDING  # retried later
    assert delivery.error_reason == "timed out" and delivery.response_code is None


async def test_a_redirect_is_not_followed(runtime: Runtime, receiver: WebhookReceiver) -> None:
    receiver.behaviour = Behaviour("redirect")
    dispatcher = aim_at(runtime, receiver, FakeDNS(localhost=["127.0.0.1"]))
    hook_id = await queued_hook(runtime, receiver.url)
    assert await dispatcher.run_once() == 1
    (delivery,) = await deliveries(runtime.database, hook_id)
    assert delivery.response_code == 302
    assert delivery.error_reason == "HTTP 302: redirects are not followed"
    assert [r.path for r in receiver.received] == ["/hooks"]


async def test_an_endless_response_body_is_cut_at_the_cap(
    runtime: Runtime, receiver: WebhookReceiver
) -> None:
    # Given a receiver that answers 200 and then streams for longer than the total timeout
    receiver.behaviour = Behaviour("huge")
    limits = Limits(connect_seconds=2, read_seconds=2, total_seconds=5)
    dispatcher = aim_at(runtime, receiver, FakeDNS(localhost=["127.0.0.1"]), limits=limits)
    hook_id = await queued_hook(runtime, receiver.url)
    # When the delivery is made
    assert await dispatcher.run_once() == 1
    # Then reading stopped at the cap: the attempt succeeded instead of running into the timeout
    (delivery,) = await deliveries(runtime.database, hook_id)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.error_reason is None


def test_production_accepts_https_receivers_only() -> None:
    from integrations.webhooks.urls import InvalidURL, parse_receiver_url

    assert parse_receiver_url("https://hooks.example.com/x", https_only=True).port == 443
    assert parse_receiver_url("http://hooks.example.com/x", https_only=False).port == 80
    for url in ("http://hooks.example.com/x", "https://hooks.example.com/x#f", "https:///x"):
        with pytest.raises(InvalidURL):
            parse_receiver_url(url, https_only=True)


async def test_failed_test_deliveries_never_disable_a_webhook(
    runtime: Runtime, receiver: WebhookReceiver
) -> None:
    receiver.behaviour = Behaviour("status", 500)
    dispatcher = aim_at(
        runtime, receiver, FakeDNS(localhost=["127.0.0.1"]), disable_after_failed_deliveries=1
    )
    hook_id = await queued_hook(runtime, receiver.url)
    (delivery,) = await deliveries(runtime.database, hook_id)
    outcome = await dispatcher.deliver_now(delivery.id)
    assert outcome is not None and outcome.status_code == 500
    async with runtime.database.system_session() as session:
        hook = await session.get(WebhookRow, hook_id)
    assert hook is not None and hook.enabled and hook.consecutive_failures == 0
