"""An Azure principal without a named subscription covers every subscription it can see.

Discovery is ARM's subscription list (azure-mgmt-resource-subscriptions' `SubscriptionClient`),
which returns exactly the subscriptions the principal holds a role on, directly or through a
management group. Each subscription is an account; its scopes are the single-subscription ones
with `Scope.account` set, so a subscription that refuses (403) fails only its own listings.

States (ARM's `SubscriptionState`): Enabled, Warned and PastDue subscriptions still run and bill
their resources, so they are listed (ACTIVE). Disabled and Deleted ones have their resources
stopped or going, and ARM serves them read-only at best: SUSPENDED, their last inventory kept.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from azure.mgmt.resource.subscriptions import SubscriptionClient

from db.enums import AccountStatus
from providers.azure import (
    RESOURCE_GROUPS_SCOPE,
    RESOURCES_SCOPE,
    AzureInventory,
    wire_json,
)
from providers.base import (
    ERROR_PERMISSION,
    ERROR_PROVIDER,
    CloudAccountInfo,
    ProviderError,
    ResourceRecord,
    Scope,
)

LISTED_STATES = frozenset({"enabled", "warned", "pastdue"})
NAME_MAX = 128


def account_of(wire: dict[str, Any]) -> CloudAccountInfo | None:
    """One subscription of the list, or None for an entry without an id (nothing to list)."""
    subscription_id = str(wire.get("subscriptionId") or "").strip()
    if not subscription_id:
        return None
    name = str(wire.get("displayName") or subscription_id)[:NAME_MAX]
    state = str(wire.get("state") or "")
    if state.lower() in LISTED_STATES:
        return CloudAccountInfo(subscription_id, name)
    # ARM's state names are a closed enum; cut anything else short rather than quote it whole.
    shown = state[:32] if state.isalnum() else "unknown"
    error = ProviderError(
        ERROR_PROVIDER,
        f"The subscription is {shown}; its inventory is kept as last listed until it is enabled.",
    )
    return CloudAccountInfo(subscription_id, name, AccountStatus.SUSPENDED, error)


class AzureSubscriptionsInventory(AzureInventory):
    """Every subscription the principal sees (`MultiAccountInventory`)."""

    # Subscriptions the last discovery found not listable, with the reason.
    _not_listable: dict[str, ProviderError] = {}

    def _subscriptions(self) -> SubscriptionClient:
        return SubscriptionClient(
            self._credential,
            base_url=self._arm,
            credential_scopes=[self._scope],
            **self._options,
        )

    def _list_accounts(self, limit: int | None = None) -> list[CloudAccountInfo]:
        found: list[CloudAccountInfo] = []
        with self._subscriptions() as client:
            for item in client.subscriptions.list():  # follows nextLink
                account = account_of(wire_json(item))
                if account is not None:
                    found.append(account)
                if limit is not None and len(found) >= limit:
                    break
        return found

    async def verify(self) -> None:
        def check() -> None:
            self._credential.get_token(self._scope)
            if not self._list_accounts(limit=1):
                raise ProviderError(
                    ERROR_PERMISSION,
                    "The principal sees no subscription; give it the Reader role on a "
                    "subscription or a management group.",
                )

        await self._run(check, "list the subscriptions")

    async def accounts(self) -> list[CloudAccountInfo]:
        found = await self._run(self._list_accounts, "list the subscriptions")
        self._not_listable = {a.account_id: a.error for a in found if a.error is not None}
        return found

    async def plan_account(self, account: CloudAccountInfo) -> list[Scope]:
        # No call: a subscription that refuses its listing fails those scopes, not discovery.
        return [
            replace(RESOURCE_GROUPS_SCOPE, account=account.account_id),
            replace(RESOURCES_SCOPE, account=account.account_id),
        ]

    async def plan(self) -> list[Scope]:
        # Suspended subscriptions stay planned and fail their listings with the reason: an
        # engine that plans everything at once retires the rows of scopes it no longer sees,
        # and a disabled subscription's inventory is kept until it can be listed again.
        return [scope for a in await self.accounts() for scope in await self.plan_account(a)]

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        reason = self._not_listable.get(scope.account)
        if reason is not None:
            raise ProviderError(reason.code, reason.message)
        return await super().list_scope(scope)
