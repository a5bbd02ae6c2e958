"""The one place where credential secrets are sealed into rows and opened out of them.

Only the provider layer opens secrets, at the moment it calls a cloud; GraphQL types never see
a `CloudSecret`.
"""

from __future__ import annotations

from db.models import CloudCredential
from providers.secrets import AwsSecret, AzureSecret, CloudSecret, GcpSecret, deserialize, serialize
from security.vault import Sealed, Vault


def fingerprint(secret: CloudSecret) -> str:
    """A non-secret hint that lets a person recognize which key this is."""
    if isinstance(secret, AwsSecret):
        key = secret.access_key_id
        return f"{key[:4]}…{key[-4:]}" if len(key) > 8 else "AWS key"
    if isinstance(secret, AzureSecret):
        return f"client {secret.client_id[:8]}… sub {secret.subscription_id[:8]}…"
    if isinstance(secret, GcpSecret):
        return f"project {secret.project_id}"[:64]
    raise TypeError(type(secret).__name__)


def seal_into(row: CloudCredential, secret: CloudSecret, vault: Vault) -> None:
    """Encrypt `secret` into `row` (which must already have its id and user_id)."""
    sealed = vault.seal(serialize(secret), row.user_id, row.id)
    row.key_id = sealed.key_id
    row.ciphertext = sealed.blob
    row.fingerprint = fingerprint(secret)


def open_secret(row: CloudCredential, vault: Vault) -> CloudSecret:
    plaintext = vault.open(Sealed(row.key_id, row.ciphertext), row.user_id, row.id)
    return deserialize(row.provider, plaintext)
