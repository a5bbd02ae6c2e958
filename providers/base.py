"""The interface every cloud module implements, and the normalized records they produce.

A provider plans its scopes (region × resource kind), then lists each scope completely or raises.
The sync engine owns concurrency, retries of whole scopes, progress and stale marking: a scope
whose listing raised never removes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from db.enums import HealthStatus, Provider, ResourceStatus, ResourceType


@dataclass(frozen=True, slots=True)
class Scope:
    """One unit of listing: stale marking happens per scope whose listing completed."""

    region: str
    kind: str


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    provider: Provider
    account: str
    region: str
    category: ResourceType
    native_type: str
    resource_id: str
    name: str
    status: ResourceStatus = ResourceStatus.UNKNOWN
    tags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    cost_per_hour: float | None = None


class ProviderError(Exception):
    """A failed cloud call. `message` is safe to store on a job and to show the owner."""

    def __init__(self, code: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class HealthResult:
    status: HealthStatus
    response_time_ms: int | None
    error_message: str | None = None


class CloudInventory(Protocol):
    """One credential's view of one cloud, built with its secret already opened."""

    async def verify(self) -> None:
        """The cheapest identity call; raises ProviderError when the credential does not work."""

    async def plan(self) -> list[Scope]:
        """Every scope to list (for example enabled regions × resource kinds)."""

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        """Everything in one scope, all pages; raises ProviderError rather than return partial."""
