"""A scripted `MultiAccountInventory`: an organization of member accounts, each with its scopes.

Like `ScriptedInventory` (whose listing, gates and failures it reuses), it tests the engine, not a
cloud: discovery and each account's plan can be made to fail, accounts can be suspended, and
every call is counted.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import Any

from db.enums import AccountStatus, Provider, ResourceStatus, ResourceType
from providers.base import CloudAccountInfo, ProviderError, ResourceRecord, Scope
from tests.sync_support import ScriptedInventory

KINDS = ("AWS::EC2::Instance", "AWS::EC2::VPC")


def member(number: int) -> str:
    return str(100000000000 + number)


def org_record(resource_id: str, scope: Scope, **fields: Any) -> ResourceRecord:
    return ResourceRecord(
        provider=Provider.AWS,
        account=scope.account,
        region=scope.region,
        type=ResourceType.VM,
        native_type=scope.kind,
        resource_id=resource_id,
        name=fields.pop("name", resource_id),
        status=fields.pop("status", ResourceStatus.RUNNING),
        **fields,
    )


def account_scopes(account: str) -> list[Scope]:
    return [Scope("us-east-1", kind, account=account) for kind in KINDS]


class ScriptedOrganization(ScriptedInventory):
    def __init__(self, accounts: int, per_scope: int = 2) -> None:
        self.members = [CloudAccountInfo(member(n), f"member-{n}") for n in range(accounts)]
        listings = {
            scope: [org_record(f"{scope.key}#{i}", scope) for i in range(per_scope)]
            for info in self.members
            for scope in account_scopes(info.account_id)
        }
        super().__init__(listings)
        self.discovery_failures: list[Exception] = []
        self.account_failures: dict[str, list[Exception]] = defaultdict(list)
        self.planned: Counter[str] = Counter()

    def set_status(
        self, account_id: str, status: AccountStatus, error: ProviderError | None = None
    ) -> None:
        self.members = [
            CloudAccountInfo(m.account_id, m.name, status, error) if m.account_id == account_id
            else m
            for m in self.members
        ]  # fmt: skip

    def add_member(self, number: int) -> CloudAccountInfo:
        info = CloudAccountInfo(member(number), f"member-{number}")
        self.members.append(info)
        for scope in account_scopes(info.account_id):
            self.listings[scope] = [org_record(f"{scope.key}#0", scope)]
        return info

    async def accounts(self) -> list[CloudAccountInfo]:
        if self.discovery_failures:
            raise self.discovery_failures.pop(0)
        return list(self.members)

    async def plan_account(self, account: CloudAccountInfo) -> list[Scope]:
        self.planned[account.account_id] += 1
        if self.account_failures[account.account_id]:
            raise self.account_failures[account.account_id].pop(0)
        return [scope for scope in self.listings if scope.account == account.account_id]


def access_denied() -> ProviderError:
    return ProviderError("PERMISSION_DENIED", "The member role could not be assumed.")


class CountedOrganization(ScriptedOrganization):
    """Says when a listing starts, so a test can wait for N listings in flight without sleeping."""

    def __init__(self, accounts: int, per_scope: int = 2) -> None:
        super().__init__(accounts, per_scope)
        self.entered = asyncio.Event()
        self.accounts_in_flight: Counter[str] = Counter()

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        self.accounts_in_flight[scope.account] += 1
        self.entered.set()
        try:
            return await super().list_scope(scope)
        finally:
            self.accounts_in_flight[scope.account] -= 1

    async def until_in_flight(self, count: int, within: float) -> None:
        async def reached() -> None:
            while True:
                self.entered.clear()
                if self.in_flight >= count:
                    return
                await self.entered.wait()

        await asyncio.wait_for(reached(), within)
