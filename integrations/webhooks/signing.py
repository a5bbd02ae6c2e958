"""Standard Webhooks signatures (the `standardwebhooks` package) and the per-webhook secret."""

from __future__ import annotations

import base64
import secrets
import uuid
from datetime import datetime

from standardwebhooks.webhooks import Webhook as Signer

from security.vault import Sealed, Vault

SECRET_PREFIX = "whsec_"  # noqa: S105 (the format's prefix, not a secret)
SECRET_BYTES = 32
VAULT_PURPOSE = "webhook"
USER_AGENT = "stratograph-webhooks/1"


def new_secret() -> str:
    """A fresh signing secret in the specification's `whsec_<base64>` form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def seal_secret(vault: Vault, secret: str, owner_id: uuid.UUID, webhook_id: uuid.UUID) -> Sealed:
    return vault.seal(secret.encode(), owner_id, webhook_id, purpose=VAULT_PURPOSE)


def open_secret(vault: Vault, sealed: Sealed, owner_id: uuid.UUID, webhook_id: uuid.UUID) -> str:
    return vault.open(sealed, owner_id, webhook_id, purpose=VAULT_PURPOSE).decode()


def message_id(delivery_id: uuid.UUID) -> str:
    """Stable across retries of one delivery, so receivers can drop duplicates."""
    return f"msg_{delivery_id.hex}"


def signed_headers(secret: str, msg_id: str, sent_at: datetime, body: str) -> dict[str, str]:
    """The request headers of one attempt; the signature covers id, timestamp and body."""
    signature = Signer(secret).sign(msg_id, sent_at, body)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
