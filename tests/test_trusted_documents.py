"""Trusted documents: with TRUSTED_DOCUMENTS_FILE set, only the listed operations run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette

from graph.app import create_app
from graph.runtime import Runtime
from security.trusted_documents import (
    TrustedDocuments,
    TrustedDocumentsError,
    build_manifest,
    operations_in_folder,
)
from stratograph.cli import main as cli_main
from tests.conftest import make_settings
from tests.factories import access_token, create_user

ME_FILE = """
# The dashboard's first call.
query Me {
  me { ...Who }
}

fragment Who on User { email fullName }
"""
TYPENAME_FILE = "query Ping { __typename }\n"
# The same operation as in ME_FILE, formatted differently and with the fragment first.
ME_REFORMATTED = "fragment Who on User{email fullName} query Me{me{...Who}}"
NOT_TRUSTED = "query Me { me { email role } }"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def operations_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "operations"
    (folder / "nested").mkdir(parents=True)
    (folder / "Me.graphql").write_text(ME_FILE)
    (folder / "nested" / "Ping.graphql").write_text(TYPENAME_FILE)
    return folder


@pytest.fixture
def manifest_file(operations_folder: Path, tmp_path: Path) -> Path:
    path = tmp_path / "trusted.json"
    assert cli_main(["build-trusted-documents", str(operations_folder), "-o", str(path)]) == 0
    return path


@pytest.fixture
async def trusted_app(
    database_url: str, tmp_path: Path, manifest_file: Path
) -> AsyncIterator[Starlette]:
    settings = make_settings(database_url, tmp_path, trusted_documents_file=str(manifest_file))
    application = create_app(settings)
    yield application
    await application.state.runtime.close()


@pytest.fixture
async def client(trusted_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=trusted_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def token(trusted_app: Starlette) -> str:
    runtime: Runtime = trusted_app.state.runtime
    user = await create_user(runtime, "trusted@example.com")
    return access_token(runtime, user)


async def post(client: httpx.AsyncClient, token: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json=payload, headers={"authorization": f"Bearer {token}"}
    )
    body: dict[str, Any] = response.json()
    return body


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


def me_hash(manifest_file: Path) -> str:
    manifest = json.loads(manifest_file.read_text())
    return str(next(op["id"] for op in manifest["operations"] if op["name"] == "Me"))


def test_the_cli_builds_an_apollo_manifest_from_a_folder(manifest_file: Path) -> None:
    # given the manifest built from a folder holding Me.graphql and nested/Ping.graphql
    manifest = json.loads(manifest_file.read_text())

    # then it lists both operations, each id the SHA-256 of its stored body
    assert manifest["format"] == "apollo-persisted-query-manifest"
    assert manifest["version"] == 1
    assert [(op["name"], op["type"]) for op in manifest["operations"]] == [
        ("Me", "query"),
        ("Ping", "query"),
    ]
    for op in manifest["operations"]:
        assert op["id"] == sha256(op["body"])
    # and the fragment travels with the operation that uses it
    assert "fragment Who on User" in manifest["operations"][0]["body"]


def test_the_cli_refuses_a_folder_without_operations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given an empty folder
    (tmp_path / "empty").mkdir()

    # when the allow-list is built from it
    code = cli_main(["build-trusted-documents", str(tmp_path / "empty")])

    # then the command fails and says why
    assert code == 1
    assert "no .graphql files" in capsys.readouterr().err


def test_an_edited_manifest_is_refused_at_startup(manifest_file: Path) -> None:
    # given a manifest whose Me body was swapped for another operation under the same id
    manifest = json.loads(manifest_file.read_text())
    manifest["operations"][0]["body"] = "query Me { me { email role } }"
    manifest_file.write_text(json.dumps(manifest))

    # when it is loaded, then it is refused
    with pytest.raises(TrustedDocumentsError, match="altered"):
        TrustedDocuments.load(manifest_file)


def test_operations_are_deduplicated_across_files(tmp_path: Path) -> None:
    # given the same operation in two files
    (tmp_path / "a.graphql").write_text(TYPENAME_FILE)
    (tmp_path / "b.graphql").write_text("query Ping {\n  __typename\n}\n")

    # when the allow-list is built, then it holds it once
    assert len(build_manifest(operations_in_folder(tmp_path))["operations"]) == 1


async def test_a_trusted_document_runs_however_it_is_formatted(
    client: httpx.AsyncClient, token: str
) -> None:
    # when the Me operation is sent as text, formatted differently from the file
    body = await post(client, token, {"query": ME_REFORMATTED})

    # then it runs
    assert body == {"data": {"me": {"email": "trusted@example.com", "fullName": "Test User"}}}


async def test_a_hash_alone_runs_the_stored_document(
    client: httpx.AsyncClient, token: str, manifest_file: Path
) -> None:
    # given the hash an Apollo client sends for the Me operation
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": me_hash(manifest_file)}}

    # when only the hash is sent, by POST and by GET
    posted = await post(client, token, {"extensions": extensions})
    fetched = await client.get(
        "/graphql",
        params={"extensions": json.dumps(extensions)},
        headers={"authorization": f"Bearer {token}", "accept": "application/json"},
    )

    # then both run the stored document
    expected = {"data": {"me": {"email": "trusted@example.com", "fullName": "Test User"}}}
    assert posted == expected
    assert fetched.json() == expected


async def test_an_unknown_document_is_refused(client: httpx.AsyncClient, token: str) -> None:
    # when an operation that is not in the allow-list is sent
    body = await post(client, token, {"query": NOT_TRUSTED})

    # then nothing runs and the code says why
    assert body.get("data") is None
    assert codes(body) == ["UNTRUSTED_DOCUMENT"]


async def test_an_unknown_hash_is_refused(client: httpx.AsyncClient, token: str) -> None:
    # when a hash that is not in the allow-list is sent alone
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(NOT_TRUSTED)}}
    body = await post(client, token, {"extensions": extensions})

    # then the Apollo code tells the client the document is not known
    assert codes(body) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_a_trusted_hash_cannot_carry_another_document(
    client: httpx.AsyncClient, token: str, manifest_file: Path
) -> None:
    # given the hash of a trusted operation sent together with another document
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": me_hash(manifest_file)}}

    # when the request is sent
    body = await post(client, token, {"query": NOT_TRUSTED, "extensions": extensions})

    # then it is refused before anything runs
    assert body.get("data") is None
    assert codes(body) == ["BAD_REQUEST"]


async def test_one_operation_picked_from_a_bigger_untrusted_document_is_refused(
    client: httpx.AsyncClient, token: str
) -> None:
    # given a document holding the trusted Ping and an untrusted operation
    document = "query Ping { __typename }\nquery Other { me { role } }"

    # when the untrusted one is picked by operationName
    body = await post(client, token, {"query": document, "operationName": "Other"})

    # then it is refused, and picking the trusted one works
    assert codes(body) == ["UNTRUSTED_DOCUMENT"]
    ping = await post(client, token, {"query": document, "operationName": "Ping"})
    assert ping == {"data": {"__typename": "Query"}}


async def test_websocket_operations_are_checked_too(trusted_app: Starlette, token: str) -> None:
    # given an authenticated graphql-transport-ws connection
    transport = ASGIWebSocketTransport(app=trusted_app)
    http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    ws: Any
    async with http, aconnect_ws("/graphql", http, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        )
        assert (await ws.receive_json())["type"] == "connection_ack"

        # when an untrusted and then a trusted operation are subscribed
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": NOT_TRUSTED}})
        refused = await ws.receive_json()
        await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": ME_FILE}})
        accepted = await ws.receive_json()

    # then the first is refused with the code and the second runs
    assert refused["id"] == "1"
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "UNTRUSTED_DOCUMENT"
    assert accepted == {
        "id": "2",
        "type": "next",
        "payload": {"data": {"me": {"email": "trusted@example.com", "fullName": "Test User"}}},
    }


async def test_without_the_setting_any_document_runs(
    http: httpx.AsyncClient, runtime: Runtime
) -> None:
    # given the default settings (no TRUSTED_DOCUMENTS_FILE) and a user
    token = access_token(runtime, await create_user(runtime, "free@example.com"))

    # when an operation no manifest lists is sent, then it runs
    body = await post(http, token, {"query": NOT_TRUSTED})
    assert body == {"data": {"me": {"email": "free@example.com", "role": "USER"}}}
