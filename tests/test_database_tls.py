"""DATABASE_URL TLS options pass through to asyncpg (libpq spellings included)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme
from sqlalchemy.engine import make_url

from db.engine import Database, create_engine
from db.migrate import upgrade_async
from db.tls import TLSConfigError, asyncpg_tls
from tests.databases import PostgresTemplate, as_app_role, async_url

BASE = "postgresql+asyncpg://app:pw@db.example.com:5432/strato"


@pytest.mark.parametrize(
    ("query", "expected"),
    [("sslmode=disable", False), ("sslmode=prefer", "prefer"), ("sslmode=require", "require")],
)
def test_libpq_modes_become_asyncpg_modes(query: str, expected: object) -> None:
    url, tls = asyncpg_tls(make_url(f"{BASE}?{query}"))
    assert tls == {"ssl": expected}
    assert "sslmode" not in url.query


def test_verify_full_with_a_root_certificate_checks_ca_and_name(tmp_path: Path) -> None:
    # given a CA file, as providers hand them out
    ca = trustme.CA()
    root = tmp_path / "root.pem"
    ca.cert_pem.write_to_path(str(root))
    # when the URL asks for verify-full, or verify-ca
    _, full = asyncpg_tls(make_url(f"{BASE}?sslmode=verify-full&sslrootcert={root}"))
    _, ca_only = asyncpg_tls(make_url(f"{BASE}?sslmode=verify-ca&sslrootcert={root}"))
    # then both verify the chain; only verify-full checks the host name
    assert isinstance(full["ssl"], ssl.SSLContext) and isinstance(ca_only["ssl"], ssl.SSLContext)
    assert full["ssl"].verify_mode == ssl.CERT_REQUIRED and full["ssl"].check_hostname
    assert ca_only["ssl"].verify_mode == ssl.CERT_REQUIRED and not ca_only["ssl"].check_hostname


def test_asyncpg_spelling_is_left_alone() -> None:
    url, tls = asyncpg_tls(make_url(f"{BASE}?ssl=require"))
    assert tls == {} and url.query == {"ssl": "require"}


def test_unknown_mode_is_a_clear_error() -> None:
    with pytest.raises(TLSConfigError, match="sslmode"):
        asyncpg_tls(make_url(f"{BASE}?sslmode=sometimes&sslrootcert=/nonexistent"))


async def test_the_app_connects_with_libpq_options(postgres_template: PostgresTemplate) -> None:
    # given the local server, which does not speak TLS, and URLs written libpq-style
    name = await postgres_template.clone()
    base = async_url(as_app_role(postgres_template.admin_dsn), name)
    try:
        # then `sslmode=disable` connects (without the translation asyncpg would refuse the
        # unknown `sslmode` argument)
        plain = Database(create_engine(base + "?sslmode=disable"))
        try:
            assert await plain.ping()
        finally:
            await plain.dispose()
        # and so do migrations (run as the owner)
        admin = async_url(postgres_template.admin_dsn, name)
        await upgrade_async(admin + "?sslmode=disable")
        # and `sslmode=require` really asks for TLS, which this server refuses
        demanding = Database(create_engine(base + "?sslmode=require"))
        try:
            with pytest.raises(Exception, match=r"(?i)ssl") as refused:
                await demanding.ping()
            assert not isinstance(refused.value, TypeError)
        finally:
            await demanding.dispose()
    finally:
        await postgres_template.drop(name)
