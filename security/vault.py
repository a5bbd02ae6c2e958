"""AES-256-GCM encryption of credential secrets under a key ring.

Each ciphertext carries the id of the key that sealed it, a fresh 96-bit nonce, and is bound by
associated data to its owner and row: a blob copied into another row or another user's row fails
to open. The key ring comes from ENCRYPTION_KEYS; the first key seals, every key opens.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12


class VaultError(Exception):
    """A ciphertext cannot be opened; the message is safe to log (it never holds key material)."""


class UnknownKeyError(VaultError):
    """The ciphertext names a key id that is not in the ring (removed too early, or a typo)."""


@dataclass(frozen=True, slots=True)
class Sealed:
    key_id: str
    blob: bytes  # version byte + nonce + ciphertext-with-tag


CREDENTIAL = "credential"
TOTP_SECRET = "totp"  # noqa: S105 - a purpose name, not a secret


def associated_data(owner_id: uuid.UUID, row_id: uuid.UUID, purpose: str = CREDENTIAL) -> bytes:
    """Binds a ciphertext to its owner, its row (a credential's `credential_id`, a TOTP factor's
    id) and what it is: a TOTP secret cannot pass for a credential, or the reverse."""
    return b"stratograph/" + purpose.encode() + b"/v1|" + owner_id.bytes + row_id.bytes


class Vault:
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise VaultError("the vault key ring is empty")
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self.primary_key_id = next(iter(keys))

    def __repr__(self) -> str:
        return f"Vault(primary={self.primary_key_id!r}, keys={list(self._keys)!r})"

    def seal(
        self, plaintext: bytes, owner_id: uuid.UUID, row_id: uuid.UUID, purpose: str = CREDENTIAL
    ) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        aead = self._keys[self.primary_key_id]
        ciphertext = aead.encrypt(nonce, plaintext, associated_data(owner_id, row_id, purpose))
        return Sealed(self.primary_key_id, FORMAT_VERSION + nonce + ciphertext)

    def open(
        self, sealed: Sealed, owner_id: uuid.UUID, row_id: uuid.UUID, purpose: str = CREDENTIAL
    ) -> bytes:
        aead = self._keys.get(sealed.key_id)
        if aead is None:
            raise UnknownKeyError(
                f"credential sealed with key id {sealed.key_id!r}, which is not in ENCRYPTION_KEYS"
            )
        blob = sealed.blob
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != FORMAT_VERSION:
            raise VaultError("credential ciphertext is malformed")
        nonce, ciphertext = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return aead.decrypt(nonce, ciphertext, associated_data(owner_id, row_id, purpose))
        except InvalidTag as exc:
            raise VaultError("credential ciphertext failed authentication") from exc

    def reseal(self, sealed: Sealed, owner_id: uuid.UUID, credential_id: uuid.UUID) -> Sealed:
        """Re-encrypt under the primary key with a fresh nonce; the plaintext never leaves here."""
        return self.seal(self.open(sealed, owner_id, credential_id), owner_id, credential_id)

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def has_key(self, key_id: str) -> bool:
        return key_id in self._keys

    def needs_rotation(self, sealed: Sealed) -> bool:
        return sealed.key_id != self.primary_key_id
