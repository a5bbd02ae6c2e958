"""Reaching the optional services: PostgreSQL and Redis skip on a bare machine, fail under CI."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_DSN = os.environ.get(
    "TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _port_open(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> None:
    """Skip (with the reason printed by -ra) or, under CI=true, fail loudly."""
    if _port_open(url, default_port):
        return
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message}; CI=true makes {name} mandatory", pytrace=False)
    pytest.skip(f"{message} (start it, or set CI=true to make this a failure)")


def require_postgres() -> str:
    require_service("PostgreSQL", POSTGRES_ADMIN_DSN, 5432)
    return POSTGRES_ADMIN_DSN


def require_redis() -> str:
    require_service("Redis", REDIS_URL, 6379)
    return REDIS_URL
