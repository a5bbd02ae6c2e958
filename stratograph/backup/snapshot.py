"""What a backup holds besides its payload, read from the very snapshot that is backed up."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SnapshotFacts:
    schema_revision: str
    row_counts: dict[str, int]
    credentials_per_key: dict[str, int]


def quote_identifier(name: str) -> str:
    """Table names come from the database's own catalog; quoted all the same."""
    return '"' + name.replace('"', '""') + '"'
