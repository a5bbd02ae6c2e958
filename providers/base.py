"""The interface every cloud module implements, and the normalized records they produce.

How the sync engine uses a `CloudInventory` (built by `providers.registry.inventory_for`):

0. `inv = await asyncio.to_thread(inventory_for, row, vault, endpoints)` (building SDK clients
   blocks). It raises `ProviderError` for an unusable secret (e.g. malformed GCP JSON) and
   `security.vault.VaultError` when the secret cannot be decrypted. Call `await inv.close()` when
   done.
1. `await inv.verify()` — the cheapest identity call; raises `ProviderError` when the credential
   does not work (optional before a sync; `verifyCredential` uses it).
2. `scopes = await inv.plan()` — every unit of listing (AWS: enabled region × kind, plus the
   global S3 scope; Azure: resource groups + the generic resource list; GCP: one asset search).
   `plan()` itself calls the cloud (regions) and may raise `ProviderError`: then nothing is listed.
3. `records = await inv.list_scope(scope)` for each scope (concurrently is fine: every SDK call
   runs in the providers' own thread pool, and the SDKs retry throttling themselves; bound the
   concurrency per credential/region on your side). It returns the complete
   listing, all pages followed, or raises `ProviderError`; it never returns a partial list.
4. Stale marking after a scope listed completely (`sync/store.py`): the engine stamps
   every row it writes with the scope that listed it (`metadata["_scope"] = scope.key`) and marks
   deleted the credential's live rows with that stamp that this listing did not refresh. Which
   rows a scope covers is therefore exactly what it listed last time, whatever their region or
   native type (`Scope.owns` describes the same intent and stays useful for checks). A scope that
   raised removes nothing. Providers must not use the `_scope` metadata key.

`ProviderError.code` is one of the `ERROR_*` constants below; `message` is written by us (never a
raw SDK message or a secret) and is safe to store on a job and show to the credential's owner.
`Scope.key` is a short stable label for job errors and the `sync_scopes` table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from db.enums import (
    AccountStatus,
    HealthStatus,
    Provider,
    RelationType,
    ResourceStatus,
    ResourceType,
)

GLOBAL_REGION = "global"

ERROR_AUTH = "AUTH_FAILED"  # the cloud rejected the credential itself
ERROR_PERMISSION = "PERMISSION_DENIED"  # authenticated, but not allowed to list this
ERROR_THROTTLED = "THROTTLED"  # still throttled after the SDK's own retries
ERROR_UNAVAILABLE = "UNAVAILABLE"  # 5xx after retries, or the endpoint is unreachable
ERROR_TIMEOUT = "TIMEOUT"  # the listing's overall deadline passed (SYNC_SCOPE_TIMEOUT_SECONDS)
ERROR_BAD_RESPONSE = "BAD_RESPONSE"  # the cloud answered something we cannot read
ERROR_PROVIDER = "PROVIDER_ERROR"  # any other refusal


@dataclass(frozen=True, slots=True)
class Scope:
    """One unit of listing: stale marking happens per scope whose listing completed.

    By default a scope owns the rows of exactly its region whose native type equals `kind`.
    """

    region: str
    kind: str
    any_region: bool = False  # records may be in any region (S3 bucket list, Azure, GCP)
    all_types_except: frozenset[str] | None = None  # generic listings: every type but these
    # The cloud account this scope lists, for a credential that covers several (an AWS
    # Organization, every subscription of an Azure principal, a GCP folder). Empty for a
    # credential of one account, whose keys therefore stay "<region>/<kind>".
    account: str = ""

    @property
    def owned_types(self) -> frozenset[str]:
        return frozenset({self.kind})

    @property
    def key(self) -> str:
        if self.account:
            return f"{self.account}:{self.region}/{self.kind}"
        return f"{self.region}/{self.kind}"

    def owns(self, region: str, native_type: str) -> bool:
        """Whether a stored row with this region and native type belongs to this scope."""
        if not self.any_region and region != self.region:
            return False
        if self.all_types_except is not None:
            return native_type not in self.all_types_except
        return native_type in self.owned_types


@dataclass(frozen=True, slots=True)
class Relation:
    """ "This record `type` `target`": `target` is the other resource's native id (its
    `ResourceRecord.resource_id`), whether or not it is in the inventory."""

    type: RelationType
    target: str


@dataclass(frozen=True, slots=True)
class ResourceRecord:
    provider: Provider
    account: str
    region: str
    type: ResourceType
    native_type: str
    resource_id: str
    name: str
    status: ResourceStatus = ResourceStatus.UNKNOWN
    tags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    cost_per_hour: float | None = None
    # Security-relevant settings in the documented shape of its native type (docs/providers.md):
    # a plain JSON-able dict, never a secret the API returned.
    configuration: dict[str, Any] = field(default_factory=dict)
    relations: tuple[Relation, ...] = ()
    # Which price table, region and date cost_per_hour came from (`normalize.Price.source`).
    cost_source: str | None = None
    # Set by a provider that could not read this item of a listing (its own words, never a value
    # from the item): the engine reports the resource as skipped and stores nothing for it.
    rejected: str | None = None


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


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard the SDKs retry throttling and 5xx before a call becomes a ProviderError."""

    max_attempts: int = 8
    initial_backoff: float = 0.5  # seconds; Azure and GCP (AWS uses botocore's standard curve)
    max_backoff: float = 20.0
    timeout: float = 120.0  # total seconds for one paged call (GCP deadline)


class CloudInventory(Protocol):
    """One credential's view of one cloud, built with its secret already opened."""

    provider: Provider

    async def verify(self) -> None:
        """The cheapest identity call; raises ProviderError when the credential does not work."""

    async def plan(self) -> list[Scope]:
        """Every scope to list (for example enabled regions × resource kinds)."""

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        """Everything in one scope, all pages; raises ProviderError rather than return partial."""

    async def close(self) -> None:
        """Release the SDK clients' connections; the inventory is not used afterwards."""


# How many records a streaming inventory hands over at a time.
STREAM_CHUNK = 500


@runtime_checkable
class StreamingInventory(CloudInventory, Protocol):
    """An inventory that can hand a scope over in chunks as its pages arrive.

    The engine writes each chunk as it comes, so memory stays bounded by the chunk size, not by
    how large a scope grows (10,000 instances in one region). A stream that raises part-way has
    its chunks kept (they were seen) but removes nothing: stale marking needs a complete listing.
    """

    def stream_scope(self, scope: Scope) -> AsyncIterator[list[ResourceRecord]]:
        """Chunks of at most STREAM_CHUNK records, in listing order; raises ProviderError."""


@dataclass(frozen=True, slots=True)
class CloudAccountInfo:
    """One account a multi-account credential covers, as its discovery call reported it.

    `error` says why an account that is not ACTIVE cannot be listed (a safe ProviderError); its
    stored inventory is kept, never marked deleted, until it can be listed again."""

    account_id: str
    name: str
    status: AccountStatus = AccountStatus.ACTIVE
    error: ProviderError | None = None


@runtime_checkable
class MultiAccountInventory(CloudInventory, Protocol):
    """A credential that covers several cloud accounts (AWS Organization, Azure principal with
    many subscriptions, GCP folder or organization).

    The engine calls `accounts()` first (the discovery call; raising means nothing is listed),
    then, for each ACTIVE account, `plan_account(account)`, and lists those scopes (each with
    `Scope.account` set) with `list_scope`/`stream_scope` as usual. `plan()` stays the plan of
    every account at once, for callers that do not split the work."""

    async def accounts(self) -> list[CloudAccountInfo]:
        """Every account the credential covers now, with its status; raises ProviderError."""

    async def plan_account(self, account: CloudAccountInfo) -> list[Scope]:
        """The scopes of one ACTIVE account (each with `account` set); raises ProviderError
        (for example AccessDenied on the member role), which fails that account only."""
