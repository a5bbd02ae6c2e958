"""The vault key ring: parsing ENCRYPTION_KEYS and what each key can open."""

from __future__ import annotations

import uuid

import pytest

from core.settings import SettingsError, parse_key_ring
from security.vault import UnknownKeyError, Vault
from tests.vault_helpers import key_entry, new_key


def test_first_key_is_primary_and_every_key_opens() -> None:
    old, new = new_key(), new_key()
    owner, row = uuid.uuid4(), uuid.uuid4()
    sealed_old = Vault({"k1": old}).seal(b"payload", owner, row)
    ring = Vault(parse_key_ring([key_entry("k2", new), key_entry("k1", old)]))
    assert ring.primary_key_id == "k2"
    assert ring.open(sealed_old, owner, row) == b"payload"
    resealed = ring.reseal(sealed_old, owner, row)
    assert resealed.key_id == "k2" and resealed.blob != sealed_old.blob
    assert Vault({"k2": new}).open(resealed, owner, row) == b"payload"
    with pytest.raises(UnknownKeyError, match="'k1', which is not in ENCRYPTION_KEYS"):
        Vault({"k2": new}).open(sealed_old, owner, row)


def test_same_plaintext_never_gives_the_same_ciphertext() -> None:
    vault, owner, row = Vault({"k1": new_key()}), uuid.uuid4(), uuid.uuid4()
    assert vault.seal(b"x", owner, row).blob != vault.seal(b"x", owner, row).blob


@pytest.mark.parametrize("kid", ["k" * 33, "has space", "a,b", "ключ"])
def test_key_ids_must_fit_beside_the_ciphertext(kid: str) -> None:
    with pytest.raises(SettingsError, match="key id"):
        parse_key_ring([key_entry(kid, new_key())])
