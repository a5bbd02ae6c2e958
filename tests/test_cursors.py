"""Cursor signing and page-argument validation, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from graph.connections.cursors import CursorCodec, KeyKind
from graph.connections.keyset import PageRequest
from graph.errors import BadRequest

KINDS: tuple[KeyKind, ...] = ("str", "float", "datetime", "uuid")
VALUES = ("name", 0.1, datetime(2026, 1, 1, 12, 30, tzinfo=UTC), uuid.uuid4())


def test_a_cursor_decodes_to_its_values_under_the_same_binding() -> None:
    codec = CursorCodec("s" * 40)
    cursor = codec.encode("resources:NAME:ASC|user-1", VALUES, KINDS)
    assert codec.decode("resources:NAME:ASC|user-1", cursor, KINDS) == VALUES


@pytest.mark.parametrize(
    "change",
    ["other binding", "other secret", "edited", "truncated", "garbage", "wrong shape", "huge"],
)
def test_a_cursor_changed_in_any_way_is_a_bad_request(change: str) -> None:
    codec = CursorCodec("s" * 40)
    binding = "resources:NAME:ASC|user-1"
    cursor = codec.encode(binding, VALUES, KINDS)
    body, _, signature = cursor.partition(".")
    decoder = codec
    kinds: tuple[KeyKind, ...] = KINDS
    if change == "other binding":
        binding = "resources:NAME:ASC|user-2"
    elif change == "other secret":
        decoder = CursorCodec("t" * 40)
    elif change == "edited":
        cursor = body[:-2] + ("AA" if not body.endswith("AA") else "BB") + "." + signature
    elif change == "truncated":
        cursor = cursor[:-3]
    elif change == "garbage":
        cursor = "not a cursor"
    elif change == "wrong shape":
        kinds = ("str", "float")  # fewer keys than the cursor holds
    else:
        cursor = "A" * 5000
    with pytest.raises(BadRequest):
        decoder.decode(binding, cursor, kinds)


def test_a_cursor_signed_the_old_way_is_refused() -> None:
    # given a cursor whose MAC is HMAC-SHA256 under the old label (how v1 cursors were made)
    import base64
    import hashlib
    import hmac

    import orjson

    secret = "s" * 40
    old_key = hmac.new(
        secret.encode(), b"stratograph/connection-cursor/v1", hashlib.sha256
    ).digest()
    payload = orjson.dumps(["name"])
    mac = hmac.digest(old_key, b"b\x00" + payload, "sha256")[:16]
    encoded = [base64.urlsafe_b64encode(part).decode().rstrip("=") for part in (payload, mac)]
    # when it is decoded, then it is a bad request like any cursor not made by this server
    with pytest.raises(BadRequest):
        CursorCodec(secret).decode("b", ".".join(encoded), ("str",))


def test_cursors_are_opaque() -> None:
    cursor = CursorCodec("s" * 40).encode("b", ("alice-secret-project",), ("str",))
    assert "alice" not in cursor


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, PageRequest(20, True, None)),
        ({"first": 100, "after": "c"}, PageRequest(100, True, "c")),
        ({"last": 1, "before": "c"}, PageRequest(1, False, "c")),
    ],
)
def test_valid_page_arguments(args: dict[str, object], expected: PageRequest) -> None:
    assert PageRequest.from_args(**args) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args",
    [
        {"first": 0},
        {"first": 101},
        {"last": 0},
        {"last": 101},
        {"first": 1, "last": 1},
        {"first": 1, "before": "c"},
        {"last": 1, "after": "c"},
    ],
)
def test_invalid_page_arguments(args: dict[str, object]) -> None:
    with pytest.raises(BadRequest):
        PageRequest.from_args(**args)  # type: ignore[arg-type]
