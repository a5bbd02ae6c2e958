"""A typed graphql-transport-ws connection for tests (httpx-ws's own helper is untyped)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from httpx_ws import aconnect_ws


def ws_connect(
    url: str, http: httpx.AsyncClient, **options: Any
) -> AbstractAsyncContextManager[Any]:
    options.setdefault("subprotocols", ["graphql-transport-ws"])
    connection: AbstractAsyncContextManager[Any] = aconnect_ws(url, http, **options)
    return connection
