"""One settings class for the whole process, read from the environment and `.env`.

In development, missing secrets are generated once and persisted in a 0600 file so a restart
neither logs everyone out nor strands stored credentials. In production, a missing, short or
well-known secret refuses to start.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Environment = Literal["development", "test", "production"]

# Values copied from tutorials and the original platform's docs; never acceptable in production.
KNOWN_DEFAULT_SECRETS = frozenset(
    {
        "",
        "secret",
        "changeme",
        "change-me",
        "changethis",
        "your-secret-key",
        "your-secret-key-here",
        "your-secret-key-change-in-production",
        "supersecret",
        "development",
        "dev-secret-key",
    }
)
MIN_SECRET_KEY_BYTES = 32
VAULT_KEY_BYTES = 32
VAULT_KEY_ID_MAX = 32
VAULT_KEY_ID_RE = re.compile(r"[A-Za-z0-9._-]+")


class SettingsError(Exception):
    """A setting is missing or unsafe; the message says which and how to fix it.

    Not a ValueError on purpose: pydantic passes it through unwrapped, message intact.
    """


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def parse_key_ring(entries: list[str]) -> dict[str, bytes]:
    """Parse `kid:base64(32 bytes)` entries, keeping order (first is primary)."""
    ring: dict[str, bytes] = {}
    for entry in entries:
        kid, sep, encoded = entry.partition(":")
        kid = kid.strip()
        if not sep or not kid or not encoded.strip():
            raise SettingsError("ENCRYPTION_KEYS entries must look like 'kid:base64key'")
        if len(kid) > VAULT_KEY_ID_MAX or not VAULT_KEY_ID_RE.fullmatch(kid):
            # Stored beside every ciphertext (a 32-character column).
            raise SettingsError(
                f"ENCRYPTION_KEYS key id {kid[:40]!r} must be 1–{VAULT_KEY_ID_MAX} letters, "
                "digits, '.', '_' or '-'"
            )
        if kid in ring:
            raise SettingsError(f"ENCRYPTION_KEYS names key id {kid!r} twice")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SettingsError(f"ENCRYPTION_KEYS key {kid!r} is not valid base64") from exc
        if len(key) != VAULT_KEY_BYTES:
            raise SettingsError(
                f"ENCRYPTION_KEYS key {kid!r} must decode to {VAULT_KEY_BYTES} bytes, "
                f"got {len(key)}"
            )
        ring[kid] = key
    return ring


class BackupKeyMissing(SettingsError):
    """A backup or restore was asked for without BACKUP_KEY."""


def parse_backup_key(value: str) -> bytes:
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SettingsError("BACKUP_KEY is not valid base64") from exc
    if len(key) != VAULT_KEY_BYTES:
        raise SettingsError(f"BACKUP_KEY must decode to {VAULT_KEY_BYTES} bytes, got {len(key)}")
    return key


def new_vault_key_entry(kid: str) -> str:
    return f"{kid}:{base64.b64encode(secrets.token_bytes(VAULT_KEY_BYTES)).decode()}"


CsvList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every setting of the public contract, with its default."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: Environment = "development"
    # Left out of the repr (as every secret below): a URL may carry the database password.
    database_url: str = Field(default="sqlite+aiosqlite:///./stratograph.db", repr=False)
    secret_key: str = Field(default="", repr=False)
    previous_secret_keys: CsvList = Field(default_factory=list, repr=False)
    algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"
    access_token_expire_minutes: int = Field(default=30, ge=1, le=24 * 60)
    refresh_token_expire_days: int = Field(default=14, ge=1, le=365)
    # Seconds between re-checks of an open WebSocket's session against the database (how soon a
    # revocation written by another process closes it; this process's own close it at once).
    websocket_recheck_seconds: float = Field(default=15, gt=0, le=300)
    encryption_keys: CsvList = Field(default_factory=list, repr=False)
    allowed_origins: CsvList = Field(
        default_factory=lambda: ["http://localhost:5173", "http://localhost:3000"]
    )
    allowed_hosts: CsvList = Field(default_factory=list)
    rate_limit_storage_url: str = Field(default="memory://", repr=False)
    rate_limit_login: str = "5/minute"
    rate_limit_dashboard: str = "60/minute"
    rate_limit_default: str = "100/minute"
    enable_registration: bool = True
    # Admins must enrol two-factor log-in before doing anything else; unset = on in production.
    require_2fa_for_admins: bool | None = None
    enable_cost_tracking: bool = True
    aws_region: str = "us-east-1"
    azure_region: str = "eastus"
    gcp_region: str = "us-central1"
    aws_endpoint_url: str | None = None
    azure_authority_host: str | None = None
    azure_resource_manager_url: str | None = None
    gcp_api_endpoint: str | None = None
    # The workload-identity token file `azureFederated` credentials sign in with (a path; the
    # file's content is a secret and is read afresh for every token request).
    azure_federated_token_file: str | None = None
    provider_ca_bundle: str | None = None
    # Restrict AWS listing to these regions (default: every enabled region), e.g. to keep a
    # demo or a test away from regions it does not use.
    aws_sync_regions: CsvList = Field(default_factory=list)
    log_level: str = "INFO"
    # Prometheus metrics on a listener of their own (0: none). Unset, development serves
    # /metrics on the main app and production serves it nowhere.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # Minutes between scheduled syncs of every credential; 0 turns the scheduler off.
    sync_interval_minutes: int = Field(default=60, ge=0)
    # Run queued jobs inside the server process; false when `stratograph worker` runs them.
    sync_in_process: bool = True
    # Scopes listed at once per credential, and per region within a credential.
    sync_concurrency: int = Field(default=8, ge=1, le=64)
    sync_region_concurrency: int = Field(default=4, ge=1, le=64)
    # Whole-scope retries after the SDK's own retries gave up (exponential backoff, full jitter).
    sync_max_retries: int = Field(default=2, ge=0, le=10)
    # A RUNNING job whose heartbeat is older than this is recovered (re-queued or failed).
    sync_stale_after_seconds: int = Field(default=120, ge=10)
    # Runs of one job before a crashed job is marked FAILED instead of re-queued.
    sync_max_attempts: int = Field(default=3, ge=1, le=10)
    # Overall deadline of planning and of each scope's listing (retries included).
    sync_scope_timeout_seconds: int = Field(default=600, ge=1, le=24 * 3600)
    # Where development secrets are kept (default: beside the database).
    dev_secrets_file: str | None = None
    # X-Forwarded-For is believed only from these proxy addresses; off by default because any
    # client can send the header.
    trusted_proxies: CsvList = Field(default_factory=list)
    # An Apollo persisted-query manifest (`stratograph build-trusted-documents`); when set, only
    # the operations it lists are executed, which shuts out crafted queries entirely.
    trusted_documents_file: str | None = None
    # The compiled execution of plain-attribute fields (`graph/execution.py`) and the read fast
    # path for plain `resources` pages (`graph/inventory/fast_path/`), both written against
    # graphql-core internals; false runs every request through graphql-core itself.
    plain_field_execution: bool = True
    # Encrypts `stratograph backup` files: base64 of 32 random bytes, unrelated to the vault and
    # signing keys (a stolen backup and a stolen vault key must not open each other).
    backup_key: str = Field(default="", repr=False)
    # Signing and vault keys older than this are reported (log, keyStatus, `stratograph keys`);
    # so are stored long-lived cloud secrets.
    key_max_age_days: int = Field(default=90, ge=1, le=3650)
    # Resources marked deleted longer ago than this are purged by the scheduler; 0 keeps them.
    deleted_retention_days: int = Field(default=30, ge=0, le=3650)
    # Change records (`inventoryChanges`, `CloudResource.history`) older than this are purged
    # by the scheduler; 0 keeps them.
    history_retention_days: int = Field(default=90, ge=0, le=3650)
    # Let webhooks reach loopback, private and CGNAT addresses (tests, on-premises receivers).
    webhook_allow_private_networks: bool = False

    _split = field_validator(
        "previous_secret_keys",
        "encryption_keys",
        "allowed_origins",
        "allowed_hosts",
        "trusted_proxies",
        "aws_sync_regions",
        mode="before",
    )(_split_csv)

    @field_validator("log_level")
    @classmethod
    def _upper_log_level(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _secure_defaults(self) -> Settings:
        if self.is_production:
            self._refuse_unsafe_production()
        else:
            self._fill_development_secrets()
            if not self.allowed_hosts:
                self.allowed_hosts = ["*"]
        parse_key_ring(self.encryption_keys)
        if self.backup_key:
            self._check_backup_key()
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def admins_need_totp(self) -> bool:
        """REQUIRE_2FA_FOR_ADMINS, defaulting to on in production and off elsewhere."""
        if self.require_2fa_for_admins is None:
            return self.is_production
        return self.require_2fa_for_admins

    @property
    def metrics_on_main_app(self) -> bool:
        """/metrics beside /graphql: development only, and only without a metrics listener."""
        return not self.is_production and not self.metrics_port

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def vault_keys(self) -> dict[str, bytes]:
        """The vault key ring, primary first."""
        return parse_key_ring(self.encryption_keys)

    @property
    def jwt_verification_keys(self) -> list[str]:
        return [self.secret_key, *self.previous_secret_keys]

    @property
    def backup_key_bytes(self) -> bytes:
        """The backup key; `BackupKeyMissing` when unset (backups are never written in clear)."""
        if not self.backup_key:
            raise BackupKeyMissing(
                "BACKUP_KEY is not set: backups are always encrypted. Generate one with "
                "python -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())' "
                "and keep it apart from the database and from ENCRYPTION_KEYS/SECRET_KEY "
                "(a backup cannot be restored without it)."
            )
        return parse_backup_key(self.backup_key)

    def _check_backup_key(self) -> None:
        key = parse_backup_key(self.backup_key)
        if key in self.vault_keys.values() or self.backup_key in self.jwt_verification_keys:
            raise SettingsError(
                "BACKUP_KEY must be its own key, not one of ENCRYPTION_KEYS or SECRET_KEY"
            )

    def _refuse_unsafe_production(self) -> None:
        problems: list[str] = []
        if self.secret_key.strip().lower() in KNOWN_DEFAULT_SECRETS:
            problems.append("SECRET_KEY is missing or a well-known default")
        elif len(self.secret_key.encode()) < MIN_SECRET_KEY_BYTES:
            problems.append(f"SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes")
        for old in self.previous_secret_keys:
            if len(old.encode()) < MIN_SECRET_KEY_BYTES:
                problems.append(
                    f"PREVIOUS_SECRET_KEYS entries must be ≥ {MIN_SECRET_KEY_BYTES} bytes"
                )
                break
        if not self.encryption_keys:
            problems.append("ENCRYPTION_KEYS is missing (kid:base64 of 32 random bytes)")
        if not self.allowed_hosts or "*" in self.allowed_hosts:
            problems.append("ALLOWED_HOSTS must list the served host names (no '*')")
        if problems:
            raise SettingsError(
                "refusing to start in production: " + "; ".join(problems) + ". "
                "Generate a secret with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )

    def _fill_development_secrets(self) -> None:
        if self.secret_key and self.encryption_keys:
            return
        path = self.secrets_file_path()
        stored = _read_secrets_file(path)
        changed = False
        if not stored.get("secret_key"):
            stored["secret_key"] = secrets.token_urlsafe(48)
            changed = True
        if not stored.get("encryption_keys"):
            stored["encryption_keys"] = new_vault_key_entry("dev1")
            changed = True
        if changed:
            _write_private_file(path, json.dumps(stored, indent=2))
        if not self.secret_key:
            self.secret_key = stored["secret_key"]
        if not self.encryption_keys:
            self.encryption_keys = _split_csv(stored["encryption_keys"])  # type: ignore[assignment]

    def secrets_file_path(self) -> Path:
        if self.dev_secrets_file:
            return Path(self.dev_secrets_file)
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            db_path = self.database_url[len(prefix) :].split("?", 1)[0]
            if db_path and db_path != ":memory:":
                return Path(db_path).with_name(Path(db_path).name + ".secrets.json")
        return Path(".stratograph.secrets.json")


def _read_secrets_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    loaded = json.loads(path.read_text())
    if not isinstance(loaded, dict):
        raise SettingsError(f"{path} is not a JSON object; remove it to regenerate")
    return {str(k): str(v) for k, v in loaded.items()}


def _write_private_file(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.chmod(path, 0o600)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own `Settings` instead."""
    return Settings()
