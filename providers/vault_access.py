"""The one place where credential secrets are sealed into rows and opened out of them.

Only the provider layer opens secrets, at the moment it calls a cloud; GraphQL types never see
a `CloudSecret`.
"""

from __future__ import annotations

import logging

from db.models import CloudCredentialRow
from db.types import utcnow
from providers.base import ProviderError
from providers.secrets import (
    AwsRoleSecret,
    AwsSecret,
    AzureSecret,
    CloudSecret,
    GcpSecret,
    deserialize,
    serialize,
)
from security.vault import Sealed, UnknownKeyError, Vault, VaultError

logger = logging.getLogger("stratograph.vault")


class SecretUnavailable(ProviderError, VaultError):
    """The stored secret cannot be opened. Both a ProviderError (so a verify or sync records it as
    a failed call with a safe message) and a VaultError (so vault-aware callers can catch it)."""


def fingerprint(secret: CloudSecret) -> str:
    """A non-secret hint that lets a person recognize which key this is."""
    if isinstance(secret, AwsSecret):
        key = secret.access_key_id
        return f"{key[:4]}…{key[-4:]}" if len(key) > 8 else "AWS key"
    if isinstance(secret, AwsRoleSecret):
        # "arn:aws:iam::123456789012:role/path/Name" → "role 123456789012/Name"
        parts = secret.role_arn.split(":")
        account = parts[4] if len(parts) > 5 else "?"
        return f"role {account}/{secret.role_arn.rsplit('/', 1)[-1]}"[:64]
    if isinstance(secret, AzureSecret):
        return f"client {secret.client_id[:8]}… sub {secret.subscription_id[:8]}…"
    if isinstance(secret, GcpSecret):
        return f"project {secret.project_id}"[:64]
    raise TypeError(type(secret).__name__)


def seal_into(row: CloudCredentialRow, secret: CloudSecret, vault: Vault) -> None:
    """Encrypt `secret` into `row` (which must already have its id and user_id)."""
    sealed = vault.seal(serialize(secret), row.user_id, row.id)
    row.key_id = sealed.key_id
    row.ciphertext = sealed.blob
    row.fingerprint = fingerprint(secret)
    # A new secret starts a new age (re-encryption by rotate-keys does not come through here).
    row.secret_rotated_at = utcnow()
    row.secret_age_reported_at = None


def open_secret(row: CloudCredentialRow, vault: Vault) -> CloudSecret:
    """Decrypt a credential's secret for the provider call about to use it.

    Raises `SecretUnavailable` with a message safe to show the owner when the key is missing from
    ENCRYPTION_KEYS or the ciphertext does not authenticate (tampered, or moved from another row).
    """
    try:
        plaintext = vault.open(Sealed(row.key_id, row.ciphertext), row.user_id, row.id)
    except UnknownKeyError as exc:
        logger.error("credential %s cannot be opened: %s", row.id, exc)
        raise SecretUnavailable(
            "VAULT_KEY_UNKNOWN",
            f"The stored secret was encrypted with key {row.key_id!r}, which this server no "
            "longer has; an operator must restore that key in ENCRYPTION_KEYS.",
        ) from None
    except VaultError as exc:
        logger.error("credential %s cannot be opened: %s", row.id, exc)
        raise SecretUnavailable(
            "VAULT_SECRET_UNREADABLE",
            "The stored secret cannot be decrypted (the server's key for it is wrong, or the "
            "data was altered); an operator must check ENCRYPTION_KEYS, or replace the secret "
            "with updateCredential.",
        ) from None
    return deserialize(row.provider, plaintext)
