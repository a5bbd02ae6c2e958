"""Rate limits: per root field executed, keyed by IP, e-mail or user, in memory or in Redis."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from starlette.datastructures import Headers

from core.settings import SettingsError
from graph.runtime import Runtime
from security.proxies import TrustedProxies
from tests.factories import access_token, create_user
from tests.hardening_support import client_for, codes, post, set_client_ip, small_app
from tests.services import require_redis

LOG_IN = 'mutation LogIn($email: String!) { logIn(input: {email: $email, password: "x"}) }'
TEN_ALIASED_LOG_INS = (
    "mutation {"
    + " ".join(
        f'a{i}: logIn(input: {{email: "ada@example.com", password: "p{i}"}})' for i in range(10)
    )
    + "}"
)
ME = "query { me { id } }"


async def test_ten_aliased_log_ins_count_ten(database_url: str, tmp_path: Path) -> None:
    # given log-in limited to 5 per minute
    app = small_app(database_url, tmp_path, rate_limit_login="5/minute")
    async with client_for(app) as client:
        # when one document tries ten passwords at once
        response = await post(client, TEN_ALIASED_LOG_INS)
        # then the whole request is refused with 429 and a retry hint, and nothing ran
        assert response.status_code == 429
        body = response.json()
        assert "data" not in body
        assert codes(response) == ["RATE_LIMITED"]
        retry_after = body["errors"][0]["extensions"]["retryAfter"]
        assert 1 <= retry_after <= 60
        assert response.headers["retry-after"] == str(retry_after)
        assert response.headers["ratelimit-limit"] == "5"


async def test_log_in_is_limited_per_email_across_ips(database_url: str, tmp_path: Path) -> None:
    # given log-in limited to 3 per minute
    app = small_app(database_url, tmp_path, rate_limit_login="3/minute")
    statuses = []
    async with client_for(app) as client:
        # when four different clients (IPs) try the same account
        for i in range(4):
            set_client_ip(client, f"198.51.100.{i + 1}")
            response = await post(client, LOG_IN, variables={"email": " Ada@Example.com"})
            statuses.append((response.status_code, codes(response)))
        # and a fifth IP tries another account
        set_client_ip(client, "198.51.100.9")
        other = await post(client, LOG_IN, variables={"email": "bob@example.com"})
    # then the account's fourth attempt is refused whatever the IP (e-mails compared normalised)
    assert statuses[:3] == [(200, [])] * 3
    assert statuses[3] == (429, ["RATE_LIMITED"])
    # and another account is unaffected
    assert other.status_code == 200 and other.json()["data"] == {"logIn": False}


async def test_log_in_is_limited_per_ip_across_emails(database_url: str, tmp_path: Path) -> None:
    app = small_app(database_url, tmp_path, rate_limit_login="3/minute")
    async with client_for(app) as client:
        # when one IP tries four accounts
        results = [
            await post(client, LOG_IN, variables={"email": f"user{i}@example.com"})
            for i in range(4)
        ]
        # then the fourth is refused; refreshToken has its own budget of the same size
        refresh = [
            await post(client, 'mutation { refreshToken(input: {refreshToken: "t"}) }')
            for _ in range(4)
        ]
    assert [r.status_code for r in results] == [200, 200, 200, 429]
    assert [r.status_code for r in refresh] == [200, 200, 200, 429]


async def test_remaining_budget_is_announced(database_url: str, tmp_path: Path) -> None:
    app = small_app(database_url, tmp_path, rate_limit_dashboard="4/minute")
    async with client_for(app) as client:
        first = await post(client, "{ dashboard }")
        second = await post(client, "{ a: dashboard b: dashboard }")
        third = await post(client, "{ dashboard }")
    # then headers count down by root field executed, and the policy names the window
    assert first.headers["ratelimit-remaining"] == "3"
    assert second.headers["ratelimit-remaining"] == "1"
    assert first.headers["ratelimit-policy"] == "4;w=60"
    assert 0 < int(first.headers["ratelimit-reset"]) <= 60
    assert third.status_code == 200 and third.headers["ratelimit-remaining"] == "0"


async def test_default_limit_is_per_user_when_authenticated(
    database_url: str, tmp_path: Path, runtime: Runtime
) -> None:
    # given the real app with a default limit of 2 per minute, and two users on one IP
    from graph.app import create_app
    from tests.conftest import make_settings
    from tests.hardening_support import client_for as client_of

    app = create_app(make_settings(database_url, tmp_path, rate_limit_default="2/minute"))
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    signer = app.state.runtime
    async with client_of(app) as client:
        headers_a = {"authorization": f"Bearer {access_token(signer, alice)}"}
        headers_b = {"authorization": f"Bearer {access_token(signer, bob)}"}
        alice_calls = [await post(client, ME, headers=headers_a) for _ in range(3)]
        bob_call = await post(client, ME, headers=headers_b)
    # then alice's third call is refused but bob, on the same IP, has his own budget
    assert [r.status_code for r in alice_calls] == [200, 200, 429]
    assert bob_call.status_code == 200 and bob_call.json()["data"]["me"]["id"]


async def test_anonymous_default_limit_is_per_ip(database_url: str, tmp_path: Path) -> None:
    app = small_app(database_url, tmp_path, rate_limit_default="2/minute")
    async with client_for(app) as client:
        responses = [await post(client, "{ item { id } }") for _ in range(3)]
        set_client_ip(client, "192.0.2.77")
        elsewhere = await post(client, "{ item { id } }")
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert elsewhere.status_code == 200


async def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    database_url: str, tmp_path: Path
) -> None:
    # given an untrusted peer that rotates X-Forwarded-For to dodge the per-IP limit
    app = small_app(database_url, tmp_path, rate_limit_default="2/minute")
    async with client_for(app) as client:
        dodged = [
            await post(client, "{ item { id } }", headers={"x-forwarded-for": f"10.0.0.{i}"})
            for i in range(3)
        ]
    # then the header is not believed: the third call is refused
    assert [r.status_code for r in dodged] == [200, 200, 429]

    # given a trusted proxy in front of many clients
    app = small_app(
        database_url, tmp_path, rate_limit_default="2/minute", trusted_proxies=["203.0.113.0/24"]
    )
    async with client_for(app, client_ip="203.0.113.10") as client:
        per_client = [
            await post(client, "{ item { id } }", headers={"x-forwarded-for": f"10.0.0.{i}"})
            for i in range(3)
        ]
    # then each forwarded client has its own budget
    assert [r.status_code for r in per_client] == [200, 200, 200]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.10", "", "203.0.113.10"),  # no header
        ("198.51.100.1", "10.0.0.1", "198.51.100.1"),  # untrusted peer: header ignored
        ("203.0.113.10", "10.0.0.1", "10.0.0.1"),  # trusted proxy
        ("203.0.113.10", "6.6.6.6, 10.0.0.1, 203.0.113.11", "10.0.0.1"),  # spoofed left part
        ("203.0.113.10", "not-an-ip", "203.0.113.10"),  # garbage: stop at what we trust
        ("203.0.113.10", "203.0.113.11", "203.0.113.11"),  # only proxies: the farthest one
    ],
)
def test_client_ip_reads_forwarded_for_right_to_left(
    peer: str, forwarded: str, expected: str
) -> None:
    proxies = TrustedProxies(["203.0.113.0/24"])
    assert proxies.client_ip(peer, Headers({"x-forwarded-for": forwarded})) == expected


def test_a_malformed_trusted_proxy_is_refused_at_start(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/unused.db"  # never connected: the app is not built
    with pytest.raises(SettingsError, match=re.escape("TRUSTED_PROXIES entry 'proxy.local'")):
        small_app(url, tmp_path, trusted_proxies=["10.0.0.0/8", "proxy.local"])


def test_trusted_proxies_are_off_by_default() -> None:
    assert TrustedProxies([]).client_ip("127.0.0.1", Headers({"x-forwarded-for": "1.2.3.4"})) == (
        "127.0.0.1"
    )


async def test_redis_storage_shares_counters_between_processes(
    database_url: str, tmp_path: Path
) -> None:
    # given two app instances (two "processes") sharing one Redis
    redis_url = require_redis()
    email = f"{uuid.uuid4().hex}@example.com"
    settings = {"rate_limit_storage_url": redis_url, "rate_limit_login": "3/minute"}
    first = small_app(database_url, tmp_path, **settings)
    second = small_app(database_url, tmp_path, **settings)
    ip = f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    # when the attempts on one account are spread over both
    async with client_for(first, client_ip=ip) as one, client_for(second, client_ip=ip) as two:
        results = [
            await post(client, LOG_IN, variables={"email": email})
            for client in (one, two, one, two)
        ]
    # then they add up: the fourth is refused
    assert [r.status_code for r in results] == [200, 200, 200, 429]


async def test_unreachable_storage_fails_open(database_url: str, tmp_path: Path) -> None:
    # given a Redis URL nobody listens on
    app = small_app(database_url, tmp_path, rate_limit_storage_url="redis://127.0.0.1:1/0")
    async with client_for(app) as client:
        response = await post(client, "{ dashboard }")
    # then the API keeps answering (the failure goes to the logs)
    assert response.status_code == 200 and response.json()["data"] == {"dashboard": 42}
