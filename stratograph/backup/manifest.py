"""What a backup says about itself: checked before anything is restored."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from stratograph.backup.container import BackupFileError

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    backend: str  # "sqlite" or "postgresql"
    schema_revision: str
    created_at: str
    # Vault key ids the stored credentials are sealed with → fingerprint of that key's material
    # when the backup was made (None if the ring of the backing-up process lacked it).
    vault_keys: dict[str, str | None]
    credentials_per_key: dict[str, int]
    row_counts: dict[str, int]
    payload_sha256: str
    payload_bytes: int
    format_version: int = FORMAT_VERSION
    tool: dict[str, str] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, indent=2).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Manifest:
        try:
            data: dict[str, Any] = json.loads(raw)
            version = int(data.get("format_version", 0))
        except (ValueError, TypeError) as exc:
            raise BackupFileError("the backup's manifest is unreadable") from exc
        if version > FORMAT_VERSION:
            raise BackupFileError(
                f"the backup uses manifest format {version}; this stratograph reads up to "
                f"{FORMAT_VERSION} (upgrade stratograph to restore it)"
            )
        try:
            return cls(**data)
        except TypeError as exc:
            raise BackupFileError("the backup's manifest is incomplete") from exc
