"""libpq-style TLS options in DATABASE_URL, translated for asyncpg.

Operators copy URLs such as `postgresql://…?sslmode=verify-full&sslrootcert=/etc/ca.pem` from
their provider; asyncpg's `connect()` has no `sslmode`/`sslrootcert` arguments and SQLAlchemy
passes query parameters through as keyword arguments, so those URLs would fail at the first
connection. `ssl=require` (asyncpg's own spelling) keeps working unchanged.
"""

from __future__ import annotations

import ssl
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

LIBPQ_TLS_KEYS = ("sslmode", "sslrootcert", "sslcert", "sslkey")


class TLSConfigError(ValueError):
    pass


def asyncpg_tls(url: URL) -> tuple[URL, dict[str, Any]]:
    """The URL without libpq TLS parameters, and the asyncpg `ssl` connect argument."""
    query = dict(url.query)
    if not any(key in query for key in LIBPQ_TLS_KEYS):
        return url, {}
    mode = str(query.get("sslmode", "prefer"))
    root = query.get("sslrootcert")
    cert, key = query.get("sslcert"), query.get("sslkey")
    cleaned = url.difference_update_query(LIBPQ_TLS_KEYS)
    if mode == "disable":
        return cleaned, {"ssl": False}
    if mode in ("allow", "prefer") and not root:
        return cleaned, {"ssl": "prefer"}
    if mode == "require" and not root:
        return cleaned, {"ssl": "require"}  # encrypted, server not verified (libpq semantics)
    if mode not in ("allow", "prefer", "require", "verify-ca", "verify-full"):
        raise TLSConfigError(f"unknown sslmode {mode!r} in DATABASE_URL")
    context = ssl.create_default_context(cafile=str(root) if root else None)
    # libpq: with a root certificate, `require` verifies the CA; only verify-full checks the name.
    context.check_hostname = mode == "verify-full"
    context.verify_mode = ssl.CERT_REQUIRED
    if cert:
        context.load_cert_chain(str(cert), str(key) if key else None)
    return cleaned, {"ssl": context}


def apply_libpq_tls(engine: AsyncEngine) -> None:
    """Translate libpq TLS parameters of the engine's URL on every connection attempt."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine.sync_engine, "do_connect")
    def _translate(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        present = {key: params.pop(key) for key in LIBPQ_TLS_KEYS if key in params}
        if present:
            _, tls = asyncpg_tls(make_url("postgresql://").update_query_dict(present))
            params.update(tls)
