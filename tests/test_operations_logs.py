"""Logs of a request carry its request id and user id, in JSON in production, never a secret."""

from __future__ import annotations

import logging

import orjson
import pytest

from core.logs import JSONFormatter, configure_logging
from core.request_context import RequestContextFilter, current_request
from graph.runtime import Runtime
from graph.view import GraphQLView
from tests.credential_data import aws_secret
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient
from tests.sessions import PASSWORD, log_in, sign_up
from tests.test_credentials_api import ADD

ME = "query Me { me { email } }"


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.handler.addFilter(RequestContextFilter())
    caplog.set_level(logging.INFO)
    return caplog


@pytest.mark.usefixtures("fast_passwords")
async def test_log_lines_of_a_login_and_credential_flow_carry_ids_and_no_secret(
    gql: GraphQLClient, runtime: Runtime, captured: pytest.LogCaptureFixture
) -> None:
    # given a user who signs up, fails once, logs in and stores an AWS credential
    await sign_up(gql, "ops@example.com")
    await log_in(gql, "ops@example.com", password="Wrong-Horse-99")
    session = await log_in(gql, "ops@example.com")
    token = session["accessToken"]
    secret = aws_secret(with_session_token=True)
    await gql(ADD, {"input": {"name": "prod", "secret": secret.input}}, token=token)
    edge = await gql(ME, token="not-a-token", headers={"x-request-id": "req-from-the-edge"})
    # when the captured lines are formatted as in production
    server_side = [r for r in captured.records if r.name != "httpx"]  # httpx: the test client
    lines = [orjson.loads(JSONFormatter().format(record)) for record in server_side]
    # then every line of the flow names its request, and none holds a secret
    assert lines, "the flow logs something (refusals at least)"
    assert all(line.get("request_id") for line in lines), lines
    assert any(line["request_id"] == "req-from-the-edge" for line in lines)
    assert edge.headers["x-request-id"] == "req-from-the-edge"  # one id, logs and response
    text = "\n".join(orjson.dumps(line).decode() for line in lines)
    for forbidden in [*secret.secret_strings, PASSWORD, "Wrong-Horse-99", token]:
        assert forbidden not in text
    assert session["refreshToken"] not in text


async def test_a_line_logged_by_an_authenticated_request_names_the_user(
    gql: GraphQLClient,
    runtime: Runtime,
    captured: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a line written while the response is encoded (after the context is built)
    probe = logging.getLogger("stratograph.probe")
    encode = GraphQLView.encode_json

    def encode_and_log(self: GraphQLView, data: object) -> bytes:
        probe.info("encoding a response")
        return encode(self, data)

    monkeypatch.setattr(GraphQLView, "encode_json", encode_and_log)
    user = await create_user(runtime)
    # when an authenticated request and an anonymous one run
    assert (await gql(ME, token=access_token(runtime, user))).ok()["me"]
    await gql(ME)
    # then the first line names the user, the second none, and nothing leaks out of a request
    lines = [r for r in captured.records if r.name == "stratograph.probe"]
    assert [getattr(r, "user_id", None) for r in lines] == [str(user.id), None]
    assert lines[0].request_id != lines[1].request_id  # type: ignore[attr-defined]
    assert current_request() is None


def test_production_logging_writes_one_json_object_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given production logging
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("INFO", json_output=True)
        # when a line is logged outside any request
        logging.getLogger("stratograph.test").info("hello %s", "world", extra={"job": 7})
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
    # then it is one JSON object with the usual keys and no request id
    line = orjson.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "hello world" and line["level"] == "INFO" and line["job"] == 7
    assert "request_id" not in line
