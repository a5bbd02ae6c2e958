"""HTTP hardening: headers, request IDs, CORS, hosts, CSRF, body size, GET, media types, HTTPS."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from security.http import MAX_BODY_BYTES
from tests.hardening_support import client_for, codes, post, small_app

ME = "{ me { id } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"
PRODUCTION = {"environment": "production", "allowed_hosts": ["api.example.com"]}


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(small_app(database_url, tmp_path)) as http:
        yield http


@pytest.fixture
async def production(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = small_app(database_url, tmp_path, **PRODUCTION)
    async with client_for(app, base_url="https://api.example.com") as http:
        yield http


def assert_security_headers(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", response.headers["x-request-id"])


async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    responses = [
        await post(client, "{ dashboard }"),
        await client.get("/healthz"),
        await client.get("/nowhere"),
        await client.post("/graphql", content=b"{}", headers={"content-type": "text/plain"}),
        await client.post(
            "/graphql", content=b"not json", headers={"content-type": "application/json"}
        ),
    ]
    for response in responses:
        assert_security_headers(response)
    # API answers are never cached by shared caches
    assert responses[0].headers["cache-control"] == "no-store"
    assert responses[0].headers["content-security-policy"].startswith("default-src 'none'")


async def test_request_id_is_echoed_generated_or_replaced(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"x-request-id": "abc-123"})
    generated = await client.get("/healthz")
    hostile = await client.get(
        "/healthz", headers={"x-request-id": "x<script>alert(1)</script>" * 20}
    )
    assert echoed.headers["x-request-id"] == "abc-123"
    assert len(generated.headers["x-request-id"]) == 32
    assert "<script>" not in hostile.headers["x-request-id"]


async def test_cors_allows_listed_origins_only(client: httpx.AsyncClient) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
    }
    allowed = await client.options(
        "/graphql", headers={"origin": "http://localhost:5173", **preflight}
    )
    foreign = await client.options(
        "/graphql", headers={"origin": "https://evil.example", **preflight}
    )
    simple = await post(client, "{ dashboard }", headers={"origin": "https://evil.example"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed.headers["access-control-max-age"] == "3600"
    assert set(allowed.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    assert foreign.status_code == 400
    assert "access-control-allow-origin" not in foreign.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_refuses_other_methods(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/graphql",
        headers={"origin": "http://localhost:5173", "access-control-request-method": "DELETE"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
async def test_csrf_simple_requests_are_refused(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/graphql", content=b'{"query":"{ dashboard }"}', headers=headers)
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]
    assert "cross-site request forgery" in response.json()["errors"][0]["message"]


async def test_csrf_preflight_header_lets_a_request_through(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query":"{ dashboard }"}',
        headers={"content-type": "text/plain", "apollo-require-preflight": "true"},
    )
    # past the CSRF guard; the GraphQL view then only speaks JSON
    assert response.status_code == 400
    assert "cross-site request forgery" not in response.text


async def test_mutations_over_get_are_405_and_queries_work(client: httpx.AsyncClient) -> None:
    mutation = await client.get(
        "/graphql", params={"query": 'mutation { signUp(input: {email: "a@b.c", password: "p"}) }'}
    )
    query = await client.get("/graphql", params={"query": "{ dashboard }"})
    assert mutation.status_code == 405
    assert query.status_code == 200 and query.json() == {"data": {"dashboard": 42}}


async def test_declared_oversize_body_is_413(client: httpx.AsyncClient) -> None:
    body = b'{"query": "{ dashboard }", "variables": {"x": "' + b"a" * MAX_BODY_BYTES + b'"}}'
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert codes(response) == ["BAD_REQUEST"]


async def test_streamed_oversize_body_is_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ dashboard }", "variables": {"x": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"a" * 65536
        yield b'"}}'

    response = await client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_oversize_get_query_is_414(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "{ " + "dashboard " * 5000 + "}"})
    assert response.status_code == 414
    assert codes(response) == ["BAD_REQUEST"]


async def test_invalid_content_length_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        content=b"{}",
        headers={"content-type": "application/json", "content-length": "-1"},
    )
    assert response.status_code in (400, 413)


async def test_graphql_response_media_type_and_status_codes(client: httpx.AsyncClient) -> None:
    accept = {"accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}
    invalid = await post(client, "{ nope }", headers=accept)
    ok = await post(client, "{ dashboard }", headers=accept)
    field_error = await post(client, "{ boom }", headers=accept)
    legacy = await post(client, "{ nope }", headers={"accept": "application/json"})
    # a request that never executed: 4xx, no data entry
    assert invalid.status_code == 400
    assert invalid.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert "data" not in invalid.json()
    # executed: 200, even with a field error (data is present, null)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert field_error.status_code == 200 and field_error.json()["data"] is None
    # clients that only accept application/json keep 200 for well-formed requests
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith("application/json")


async def test_graphiql_page_gets_a_csp_that_lets_it_run(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()
    csp = response.headers["content-security-policy"]
    assert "https://unpkg.com" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    # the page's inline script is allowed by its hash, and only by it
    for script in re.findall(r"<script>(.*?)</script>", response.text, flags=re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


async def test_production_has_no_graphiql(production: httpx.AsyncClient) -> None:
    response = await production.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in response.text.lower()
    assert response.status_code in (400, 404)


async def test_production_redirects_to_https_and_sends_hsts(
    database_url: str, tmp_path: Path
) -> None:
    app = small_app(database_url, tmp_path, **PRODUCTION)
    async with client_for(app, base_url="http://api.example.com") as plain:
        redirected = await plain.get("/graphql", params={"query": "{ dashboard }"})
        probe = await plain.get("/healthz")
    assert redirected.status_code == 308
    assert redirected.headers["location"].startswith("https://api.example.com/graphql?query=")
    assert probe.status_code == 200  # load-balancer probes stay on plain HTTP

    app = small_app(database_url, tmp_path, **PRODUCTION)
    async with client_for(app, base_url="https://api.example.com") as tls:
        secure = await post(tls, "{ dashboard }")
    assert secure.status_code == 200
    assert secure.headers["strict-transport-security"].startswith("max-age=63072000")


async def test_forwarded_proto_counts_only_from_trusted_proxies(
    database_url: str, tmp_path: Path
) -> None:
    forwarded = {"x-forwarded-proto": "https"}
    app = small_app(database_url, tmp_path, **PRODUCTION)
    async with client_for(app, base_url="http://api.example.com") as untrusted:
        spoofed = await untrusted.get("/graphql?query={dashboard}", headers=forwarded)
    app = small_app(database_url, tmp_path, **PRODUCTION, trusted_proxies=["203.0.113.10"])
    async with client_for(app, base_url="http://api.example.com") as behind_proxy:
        proxied = await behind_proxy.get("/graphql?query={dashboard}", headers=forwarded)
    assert spoofed.status_code == 308
    assert proxied.status_code == 200


async def test_unknown_hosts_are_refused(production: httpx.AsyncClient) -> None:
    response = await production.get("/graphql?query={__typename}", headers={"host": "evil.example"})
    assert response.status_code == 400
    assert_security_headers(response)
    # probes come by address (127.0.0.1, a pod IP): not refused (metrics have their own port)
    for path in ("/healthz", "/readyz"):
        probe = await production.get(path, headers={"host": "10.1.2.3:8000"})
        assert probe.status_code == 200, path
