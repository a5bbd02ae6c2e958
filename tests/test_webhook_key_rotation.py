"""`rotate-keys` re-seals webhook signing secrets too, and counts them as key usage, so the old
key is reported removable only once no webhook depends on it."""

from __future__ import annotations

import base64
import secrets
import uuid

from sqlalchemy import select

from db.models import WebhookRow
from graph.runtime import Runtime
from integrations.webhooks.key_rotation import webhook_key_usage
from integrations.webhooks.signing import new_secret, open_secret, seal_secret
from security.vault import Sealed, Vault
from stratograph.key_rotation import rotate_keys
from tests.factories import create_user


async def test_rotation_reseals_webhook_secrets_under_the_primary_key(runtime: Runtime) -> None:
    # Given a webhook whose secret is sealed with the current key k1
    user = await create_user(runtime)
    hook_id, secret = uuid.uuid4(), new_secret()
    sealed = seal_secret(runtime.vault, secret, user.id, hook_id)
    async with runtime.database.system_session() as session:
        session.add(
            WebhookRow(
                id=hook_id, user_id=user.id, url="https://example.com/h", events=["SYNC_FINISHED"],
                enabled=True, key_id=sealed.key_id, secret_ciphertext=sealed.blob,
                consecutive_failures=0,
            )
        )  # fmt: skip
    old_id = sealed.key_id
    new_key = secrets.token_bytes(32)
    ring = Vault({"k2": new_key, **{old_id: runtime.settings.vault_keys[old_id]}})
    # When the keys are rotated with a new primary
    report = await rotate_keys(runtime.database, ring, progress=False)
    # Then the secret is under the new key and opens without the old one
    assert report.webhook_secrets_rotated == 1 and report.unreadable_webhooks == []
    assert await webhook_key_usage(runtime.database) == {"k2": 1}
    assert report.unused_key_ids == [old_id]
    async with runtime.database.system_session() as session:
        row = (await session.scalars(select(WebhookRow))).one()
    only_new = Vault({"k2": new_key})
    assert open_secret(only_new, Sealed(row.key_id, row.secret_ciphertext), user.id, hook_id) == (
        secret
    )
    assert base64.b64decode(secret.removeprefix("whsec_"))  # still the specification's format
