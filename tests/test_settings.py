"""Settings: development secrets persist, production refuses unsafe ones."""

from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path
from typing import Any

import pytest

from core.settings import Settings, SettingsError

GOOD_KEY = "k1:" + base64.b64encode(b"\x01" * 32).decode()
STRONG_SECRET = "s" * 48


def build(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def test_development_generates_secrets_once_in_a_private_file(tmp_path: Path) -> None:
    # given a development database with no secrets configured
    url = f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"
    # when the settings are loaded twice (two process starts)
    first = build(database_url=url)
    second = build(database_url=url)
    # then both starts share the generated secrets, kept in a 0600 file beside the database
    secrets_file = tmp_path / "app.db.secrets.json"
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    assert first.encryption_keys == second.encryption_keys
    assert len(next(iter(first.vault_keys.values()))) == 32


def test_explicit_secrets_win_over_the_generated_file(tmp_path: Path) -> None:
    settings = build(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}",
        secret_key=STRONG_SECRET,
        encryption_keys=GOOD_KEY,
    )
    assert settings.secret_key == STRONG_SECRET
    assert list(settings.vault_keys) == ["k1"]
    assert not (tmp_path / "a.db.secrets.json").exists()


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"secret_key": ""}, "SECRET_KEY is missing"),
        ({"secret_key": "changeme"}, "SECRET_KEY is missing or a well-known default"),
        ({"secret_key": "short-but-not-default"}, "at least 32 bytes"),
        ({"encryption_keys": ""}, "ENCRYPTION_KEYS is missing"),
        ({"allowed_hosts": "*"}, "ALLOWED_HOSTS"),
        ({"previous_secret_keys": "tiny"}, "PREVIOUS_SECRET_KEYS"),
    ],
)
def test_production_refuses_unsafe_settings(overrides: dict[str, str], complaint: str) -> None:
    values = {
        "environment": "production",
        "secret_key": STRONG_SECRET,
        "encryption_keys": GOOD_KEY,
        "allowed_hosts": "api.example.com",
        **overrides,
    }
    with pytest.raises(SettingsError, match=complaint):
        build(**values)


def test_production_accepts_safe_settings() -> None:
    settings = build(
        environment="production",
        secret_key=STRONG_SECRET,
        encryption_keys=GOOD_KEY,
        allowed_hosts="api.example.com",
    )
    assert settings.is_production
    assert settings.allowed_hosts == ["api.example.com"]


@pytest.mark.parametrize(
    ("ring", "complaint"),
    [
        ("nokid", "kid:base64key"),
        ("k1:!!!", "not valid base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "32 bytes"),
        (f"{GOOD_KEY},{GOOD_KEY}", "twice"),
    ],
)
def test_malformed_key_rings_are_refused(ring: str, complaint: str) -> None:
    with pytest.raises(SettingsError, match=complaint):
        build(
            secret_key=STRONG_SECRET,
            encryption_keys=ring,
            environment="production",
            allowed_hosts="a.example.com",
        )


def test_comma_lists_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example")
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("ENCRYPTION_KEYS", GOOD_KEY)
    settings = Settings(_env_file=None)
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("environment", "setting", "required"),
    [
        ("production", None, True),
        ("production", "false", False),
        ("development", None, False),
        ("test", "true", True),
    ],
)
def test_admins_need_two_factor_by_default_in_production_only(
    tmp_path: Path, environment: str, setting: str | None, required: bool
) -> None:
    values: dict[str, Any] = {
        "environment": environment,
        "secret_key": STRONG_SECRET,
        "encryption_keys": GOOD_KEY,
        "allowed_hosts": "api.example.com",
        "dev_secrets_file": str(tmp_path / "secrets.json"),
    }
    if setting is not None:
        values["require_2fa_for_admins"] = setting
    assert build(**values).admins_need_totp is required


def test_secrets_never_appear_in_the_settings_repr(tmp_path: Path) -> None:
    # given settings holding a signing key, a former one, a vault key, a backup key, and
    # passwords in the database and Redis URLs
    vault_key = base64.b64encode(secrets.token_bytes(32)).decode()
    backup_key = base64.b64encode(secrets.token_bytes(32)).decode()
    settings = Settings(
        _env_file=None,
        database_url="postgresql+asyncpg://app:db-password-7f3a@127.0.0.1/stratograph",
        secret_key="signing-key-" + secrets.token_urlsafe(32),
        previous_secret_keys=["former-key-" + secrets.token_urlsafe(32)],
        encryption_keys=[f"k1:{vault_key}"],
        backup_key=backup_key,
        rate_limit_storage_url="redis://:redis-password-91c2@127.0.0.1:6379/0",
        dev_secrets_file=str(tmp_path / "secrets.json"),
    )
    # when the settings object is printed, as a log line or a traceback would
    shown = repr(settings) + str(settings)
    # then none of the secrets is in it
    for secret in (
        settings.secret_key,
        settings.previous_secret_keys[0],
        vault_key,
        backup_key,
        "db-password-7f3a",
        "redis-password-91c2",
    ):
        assert secret not in shown
