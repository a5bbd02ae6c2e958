"""bench/http_peer.py's correctness part: the product, PostGraphile and the floor, each a real
process on a small database, must return the database's page in the database's order before
anything is measured. wrk is not needed for this part (nothing is timed)."""

from __future__ import annotations

import shutil
import uuid
from typing import Any

import pytest

from bench import _wrk, http_peer
from bench._http_peer_cases import CASES
from bench._http_servers import ServerSpec
from tests.services import IN_CI, require_postgres


def require_postgraphile() -> None:
    installed = (http_peer.PEER_DIR / "node_modules" / ".package-lock.json").exists()
    if shutil.which("node") and installed:
        return
    reason = "node or tools/postgraphile/node_modules is missing (run: make bench-tools)"
    if IN_CI:
        pytest.fail(f"{reason}; CI=true makes it mandatory", pytrace=False)
    pytest.skip(reason)


def test_the_product_postgraphile_and_the_floor_return_the_same_pages() -> None:
    # given PostgreSQL and an installed PostGraphile
    require_postgres()
    require_postgraphile()
    # when every server is started on a small database and every case is checked
    rows = http_peer.run(measuring=False, resources=300, other_resources=40)
    # then no server was skipped and none differed from the database (a difference raises)
    assert rows == []


class Answering:
    """Stands for a running server: every request gets the same decoded answer."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer

    def post(self, body: bytes, headers: dict[str, str]) -> Any:
        return self.answer


def _server() -> http_peer.Server:
    spec = ServerSpec("stand-in", [], {}, ".", "/graphql")
    return http_peer.Server(spec, lambda case, dataset: b"{}", lambda answer: answer["ids"])


def test_a_page_in_another_order_fails_the_check() -> None:
    # given a server whose page holds the database's ids, two of them swapped
    want = [uuid.uuid4() for _ in range(5)]
    swapped = [want[0], want[2], want[1], *want[3:]]
    dataset = http_peer.Dataset("db", uuid.uuid4(), "token", "secret", "k1:key")
    # when the page is checked, then the check fails and says where
    with pytest.raises(AssertionError, match="first difference at position 1"):
        http_peer.check(_server(), Answering({"ids": swapped}), dataset, CASES[0], want)  # type: ignore[arg-type]
    # and the same ids in the same order pass
    http_peer.check(_server(), Answering({"ids": want}), dataset, CASES[0], want)  # type: ignore[arg-type]


def test_an_answer_with_errors_fails_the_check() -> None:
    # given a server that answers with a GraphQL error
    dataset = http_peer.Dataset("db", uuid.uuid4(), "token", "secret", "k1:key")
    answer = {"errors": [{"message": "invalid token"}], "ids": []}
    # when checked, then it fails with the error
    with pytest.raises(AssertionError, match="invalid token"):
        http_peer.check(_server(), Answering(answer), dataset, CASES[0], [])  # type: ignore[arg-type]


def test_the_wrk_script_carries_the_body_and_headers_and_refuses_to_be_broken_out_of() -> None:
    # given a JSON body and headers
    body = b'{"query": "query { resources(first: 1) { edges { cursor } } }"}'
    # when the Lua script is written
    lua = _wrk.script(body, {"Authorization": "Bearer abc"})
    # then it posts that body with that header and reports through the done hook
    assert 'wrk.method = "POST"' in lua and body.decode() in lua
    assert "Bearer abc" in lua and _wrk.MARK in lua
    # and a body that would close the Lua long string is refused
    with pytest.raises(ValueError, match="long string"):
        _wrk.script(b'{"x": "' + _wrk.CLOSE.encode() + b'"}', {})
