"""Opaque, tamper-proof cursors for keyset pagination.

A cursor carries the sort-key values of one row. It is signed with keyed BLAKE2b (a MAC in one
call, several times cheaper than HMAC-SHA256 for these short messages; every edge of a page gets
one) under a key derived from `SECRET_KEY` with its own label (so a cursor can never be mistaken
for a token, nor a token forged from a cursor), and the signature also covers the query's ordering
and the caller: a cursor edited by hand, made up, taken from another ordering or from another user
is refused as a BAD_REQUEST before any SQL runs, so it can never reveal someone else's rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from operator import methodcaller
from typing import Any, Literal

import orjson

from graph.errors import BadRequest

KeyKind = Literal["str", "int", "float", "datetime", "uuid"]

# v2: BLAKE2b MACs (v1 cursors, HMAC-SHA256, are refused like any other cursor not made here).
_KEY_LABEL = b"stratograph/connection-cursor/v2"
_MAC_BYTES = 16  # a cursor is base64url(payload JSON ‖ MAC)
_MAX_CURSOR_CHARS = 2048


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


# How a key value is written into a cursor's JSON (strings and numbers as they are).
_TO_JSON: dict[str, Callable[[Any], Any]] = {"datetime": methodcaller("isoformat"), "uuid": str}


def _decode_value(value: Any, kind: KeyKind) -> Any:
    if kind == "datetime":
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("cursor datetime without a time zone")
        return moment
    if kind == "uuid":
        return uuid.UUID(value)
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise ValueError(f"cursor value of the wrong kind for {kind}")


class CursorCodec:
    """Signs and verifies cursors for one server secret."""

    def __init__(self, secret_key: str) -> None:
        self._key = hmac.new(secret_key.encode(), _KEY_LABEL, hashlib.sha256).digest()

    def _mac(self, binding: str, payload: bytes) -> bytes:
        message = binding.encode() + b"\x00" + payload
        return hashlib.blake2b(message, key=self._key, digest_size=_MAC_BYTES).digest()

    def encode(self, binding: str, values: tuple[Any, ...], kinds: tuple[KeyKind, ...]) -> str:
        return self.encoder(binding, kinds)(values)

    def encoder(self, binding: str, kinds: tuple[KeyKind, ...]) -> Callable[[Sequence[Any]], str]:
        """`encode` for one binding and ordering, for the many cursors of a page."""
        prefix = binding.encode() + b"\x00"
        key = self._key
        converters = tuple(_TO_JSON.get(kind) for kind in kinds)
        blake2b = hashlib.blake2b
        b2a = binascii.b2a_base64

        def encode(values: Sequence[Any]) -> str:
            encoded = [
                value if convert is None else convert(value)
                for value, convert in zip(values, converters, strict=True)
            ]
            payload = orjson.dumps(encoded)
            mac = blake2b(prefix + payload, key=key, digest_size=_MAC_BYTES).digest()
            return b2a(payload + mac, newline=False).translate(_URL_SAFE).rstrip(b"=").decode()

        return encode

    def decode(self, binding: str, cursor: str, kinds: tuple[KeyKind, ...]) -> tuple[Any, ...]:
        """The key values of a cursor `encode` made with this binding; else BAD_REQUEST."""
        try:
            if len(cursor) > _MAX_CURSOR_CHARS:
                raise ValueError("cursor too long")
            raw_cursor = _unb64(cursor)
            payload, signature = raw_cursor[:-_MAC_BYTES], raw_cursor[-_MAC_BYTES:]
            if not payload or not hmac.compare_digest(signature, self._mac(binding, payload)):
                raise ValueError("bad signature")
            raw = orjson.loads(payload)
            if not isinstance(raw, list) or len(raw) != len(kinds):
                raise ValueError("cursor shape does not match the ordering")
            return tuple(_decode_value(v, k) for v, k in zip(raw, kinds, strict=True))
        except (
            binascii.Error,
            UnicodeDecodeError,
            ValueError,
            TypeError,
        ) as exc:  # JSONDecodeError too
            # One message for every failure: which check failed is nobody's business.
            raise BadRequest(
                "Invalid cursor: pass a cursor returned by this same query, unmodified"
            ) from exc


@lru_cache(maxsize=4)
def cursor_codec(secret_key: str) -> CursorCodec:
    return CursorCodec(secret_key)
