"""A GCP credential scoped to a folder or an organization covers every project under it.

Discovery is a Cloud Asset search for `cloudresourcemanager.googleapis.com/Project` at the folder
or organization: it returns every project below, at any depth, with the one role the listings
need anyway (`roles/cloudasset.viewer` there). Resource Manager's project search would find
only direct children (`parent:`) and need `roles/browser` as well. Each project is an account;
its scope is the single-project asset search with `Scope.account` set, so a project that
refuses (403) fails only its own listing.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from google.cloud import asset_v1

from db.enums import AccountStatus
from providers.base import ERROR_PROVIDER, CloudAccountInfo, ProviderError, ResourceRecord, Scope
from providers.gcp import ASSETS_SCOPE, GcpInventory
from providers.gcp_identity import project_of
from providers.secrets import GcpImpersonationSecret, GcpSecret

logger = logging.getLogger("stratograph.providers")

PROJECT_ASSET = "cloudresourcemanager.googleapis.com/Project"
PROJECT_READ_MASK = "name,assetType,project,displayName,state,additionalAttributes"
NAME_MAX = 128


def account_of(result: dict[str, Any]) -> CloudAccountInfo | None:
    """One project of the search, or None when Cloud Asset gave no project id to list it by."""
    attributes = result.get("additional_attributes")
    project_id = attributes.get("projectId") if isinstance(attributes, dict) else None
    if not isinstance(project_id, str) or not project_id:
        return None
    name = str(result.get("display_name") or project_id)[:NAME_MAX]
    state = str(result.get("state") or "ACTIVE").upper()
    if state == "ACTIVE":
        return CloudAccountInfo(project_id, name)
    shown = state[:32] if state.replace("_", "").isalnum() else "unknown"
    error = ProviderError(
        ERROR_PROVIDER,
        f"The project is {shown}; its inventory is kept as last listed while it is not active.",
    )
    return CloudAccountInfo(project_id, name, AccountStatus.SUSPENDED, error)


class GcpFolderInventory(GcpInventory):
    """Every project under a folder or organization (`MultiAccountInventory`)."""

    def __init__(self, secret: GcpSecret | GcpImpersonationSecret, **options: Any) -> None:
        super().__init__(secret, **options)
        self.parent = secret.scope or ""
        # Projects the last discovery found not listable, with the reason.
        self._not_listable: dict[str, ProviderError] = {}

    def _search_projects(self, page_size: int | None) -> Any:
        request: dict[str, Any] = {
            "scope": self.parent,
            "asset_types": [PROJECT_ASSET],
            "read_mask": PROJECT_READ_MASK,
        }
        if page_size:
            request["page_size"] = page_size
        return self._assets.search_all_resources(
            request=request, retry=self._retry, timeout=self._timeout
        )

    def _list_accounts(self) -> list[CloudAccountInfo]:
        to_dict = asset_v1.ResourceSearchResult.to_dict
        found: list[CloudAccountInfo] = []
        unnamed = 0
        for result in self._search_projects(self._page_size):  # all pages
            account = account_of(to_dict(result))
            if account is None:
                unnamed += 1
            else:
                found.append(account)
        if unnamed:
            logger.warning("%d projects under a GCP scope came without a project id", unnamed)
        return found

    async def verify(self) -> None:
        def first_page() -> None:
            next(iter(self._search_projects(1)), None)

        await self._run(first_page, f"search {self.parent}")

    async def accounts(self) -> list[CloudAccountInfo]:
        found = await self._run(self._list_accounts, f"list the projects of {self.parent}")
        self._not_listable = {a.account_id: a.error for a in found if a.error is not None}
        return found

    async def plan_account(self, account: CloudAccountInfo) -> list[Scope]:
        # No call: a project that refuses its search fails that scope, not discovery.
        return [replace(ASSETS_SCOPE, account=account.account_id)]

    async def plan(self) -> list[Scope]:
        # Suspended projects stay planned and fail their listings with the reason: an engine
        # that plans everything at once retires the rows of scopes it no longer sees, and a
        # project pending deletion keeps its inventory until it is active again.
        return [scope for a in await self.accounts() for scope in await self.plan_account(a)]

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        reason = self._not_listable.get(scope.account)
        if reason is not None:
            raise ProviderError(reason.code, reason.message)
        return await super().list_scope(scope)


def gcp_inventory(secret: GcpSecret | GcpImpersonationSecret, **options: Any) -> GcpInventory:
    """A single-project inventory (keys unchanged), or one for every project under a folder or
    organization."""
    if project_of(secret) is None:
        return GcpFolderInventory(secret, **options)
    return GcpInventory(secret, **options)
