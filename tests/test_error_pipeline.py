"""One error pipeline: named steps in a fixed order, one log line per error, masking last."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.error_pipeline import STEPS
from graph.hardening import fragments
from tests.hardening_support import client_for, post, small_app


@pytest.fixture
async def development(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(small_app(database_url, tmp_path)) as c:
        yield c


def test_the_steps_run_in_the_documented_order() -> None:
    assert [step.__name__ for step in STEPS] == [
        "code_parse_limit",
        "code_bad_request",
        "hide_suggestions",
        "redact_values",
        "log",
    ]


async def test_an_unexpected_exception_is_logged_once_with_its_traceback(
    development: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given a resolver that raises
    caplog.set_level(logging.DEBUG)
    # when it is queried
    response = await post(development, "{ boom }")
    # then the client gets the masked error and the log has exactly one line for it
    assert response.json()["errors"][0]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    with_traceback = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert len(with_traceback) == 1
    assert with_traceback[0].name == "stratograph.graphql"
    about_boom = [r for r in caplog.records if "boom" in r.getMessage()]
    assert len(about_boom) == 1


async def test_a_validation_error_is_logged_once_without_the_query_text(
    development: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given a query that fails validation and carries a would-be secret in its text
    caplog.set_level(logging.DEBUG)
    query = "{ dashbord paint(color: COBALT) } # inline-secret-value"
    # when it is sent
    await post(development, query)
    # then one line names the error, and no line quotes the document
    lines = [r for r in caplog.records if "dashbord" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
    assert "inline-secret-value" not in caplog.text


async def test_a_documents_fragments_are_expanded_by_one_visitor_for_every_check(
    development: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a count of the fragment indexes built
    built: list[object] = []
    original_init = fragments.Fragments.__init__

    def counting_init(self: fragments.Fragments, document: Any) -> None:
        built.append(document)
        original_init(self, document)

    monkeypatch.setattr(fragments.Fragments, "__init__", counting_init)
    query = (
        "query Q { ...Top ...Top } fragment Top on Query "
        "{ items(first: 2) { totalCount } a: dashboard } "
        f"# a document no earlier test parsed: {uuid.uuid4()}"
    )
    # when an operation with fragments passes depth, alias, cost and rate-limit checks twice
    for _ in range(2):
        response = await post(development, query)
        assert "errors" not in response.json(), response.json()
    # then its fragments were indexed once, for all of those checks and both requests
    assert len(built) == 1
