"""How `stratograph serve` runs uvicorn: our logging, and a graceful stop on SIGTERM."""

from __future__ import annotations

from typing import Any

from core.log_redaction import uvicorn_level
from core.settings import Settings
from security.http import MAX_BODY_BYTES

# A load balancer drains an instance before stopping it; requests already in flight (a sync
# being started, a dashboard being computed) get this long to finish before uvicorn closes them.
DEFAULT_GRACEFUL_TIMEOUT_SECONDS = 30


def uvicorn_options(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    graceful_timeout: int = DEFAULT_GRACEFUL_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "workers": workers,
        # uvicorn sets its own loggers' level from this: at DEBUG they would carry WebSocket
        # frames (secrets sent to addCredential over a socket).
        "log_level": uvicorn_level(settings.log_level),
        # None: uvicorn keeps its hands off logging, its loggers propagate to our root handler
        # (JSON in production, with the request id of each access line).
        "log_config": None,
        "timeout_graceful_shutdown": graceful_timeout,
        "proxy_headers": False,  # X-Forwarded-* are judged by the app against TRUSTED_PROXIES
        "server_header": False,
        "ws_max_size": MAX_BODY_BYTES,  # the same 1 MiB cap as HTTP bodies
    }
