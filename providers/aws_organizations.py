"""AWS Organizations: one role credential covering every account of an organization.

`organizations:ListAccounts` from the given (management or delegated-administrator) role, on
every discovery, so accounts that join later are picked up by the next one. Each member account is
read through the member role (same name in every account), assumed directly by the server's
identity with the credential's external ID, not chained from the management role: the member
roles carry the same trust policy as the management role (one template, deployed by a StackSet),
the management role needs no `sts:AssumeRole` permission of its own, and chained sessions would
be capped at one hour. The account that owns the given role is read with that role
(service-managed StackSets do not deploy to the management account).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import boto3

from db.enums import AccountStatus
from providers.aws import AwsInventory, in_thread
from providers.aws_kinds import GLOBAL_KINDS, REGIONAL_KINDS
from providers.aws_roles import AwsRoleInventory, assumed_session, refusal
from providers.base import (
    ERROR_AUTH,
    ERROR_PERMISSION,
    ERROR_PROVIDER,
    GLOBAL_REGION,
    CloudAccountInfo,
    ProviderError,
    Scope,
)
from providers.secrets import AwsRoleSecret

logger = logging.getLogger("stratograph.providers")

ACCOUNT_ID = re.compile(r"[0-9]{12}")
# Organizations' own statuses; anything but ACTIVE cannot be listed.
INACTIVE_STATES = {"SUSPENDED": AccountStatus.SUSPENDED, "PENDING_CLOSURE": AccountStatus.SUSPENDED}


class AwsOrganizationInventory(AwsRoleInventory):
    """Every account of an AWS Organization: the given role lists them, a member role (same name
    in every account) reads each one."""

    def __init__(self, role: AwsRoleSecret, external_id: str, **options: Any) -> None:
        super().__init__(role, external_id, **options)
        self._member_role_name = role.member_role_name or ""
        self._members: dict[str, boto3.session.Session] = {}

    def member_role_arn(self, account: str) -> str:
        return f"arn:{self._partition}:iam::{account}:role/{self._member_role_name}"

    def _session_for(self, account: str) -> boto3.session.Session:
        if not account or account == self._role_account:
            return self._session
        member = self._members.get(account)
        if member is None:
            arn = self.member_role_arn(account)
            member = assumed_session(
                self._sts,
                self._source,
                arn,
                self._external_id,
                self._default_region,
                refused=refusal(arn, ERROR_PERMISSION),
                duration_seconds=self._session_seconds,
            )
            self._members[account] = member
        return member

    async def accounts(self) -> list[CloudAccountInfo]:
        return await in_thread(self._list_accounts, "list the organization's accounts")

    async def plan_account(self, account: CloudAccountInfo) -> list[Scope]:
        if account.status != AccountStatus.ACTIVE:
            raise account.error or ProviderError(
                ERROR_PROVIDER, f"Account {account.account_id} is not active."
            )
        await self._ensure_identity()
        regions = await in_thread(
            lambda: self._enabled_regions(account.account_id),
            f"list the enabled regions of account {account.account_id}",
        )
        where = account.account_id
        scopes = [Scope(r, kind, account=where) for r in regions for kind in REGIONAL_KINDS]
        scopes += [
            Scope(GLOBAL_REGION, kind, any_region=True, account=where) for kind in GLOBAL_KINDS
        ]
        return scopes

    async def plan(self) -> list[Scope]:
        """Every active account's scopes; one account that cannot be planned fails the plan
        (the engine's per-account path fails that account only)."""
        active = [a for a in await self.accounts() if a.status == AccountStatus.ACTIVE]
        plans = await asyncio.gather(*(self.plan_account(a) for a in active))
        return [scope for plan in plans for scope in plan]

    def _list_accounts(self) -> list[CloudAccountInfo]:
        client = self._client("organizations", self._default_region)
        found: list[CloudAccountInfo] = []
        unreadable = 0
        for page in client.get_paginator("list_accounts").paginate():
            for item in page.get("Accounts", []):
                account_id = item.get("Id")
                if not isinstance(account_id, str) or not ACCOUNT_ID.fullmatch(account_id):
                    unreadable += 1
                    continue
                found.append(_account_info(account_id, item))
        if unreadable:
            # Counted, never quoted: the value came from the endpoint.
            logger.warning("ListAccounts returned %d entries without an account id", unreadable)
        return found


def _account_info(account_id: str, item: dict[str, Any]) -> CloudAccountInfo:
    name = item.get("Name")
    shown = name[:100] if isinstance(name, str) and name.isprintable() and name else account_id
    state = str(item.get("Status") or "ACTIVE")
    status = INACTIVE_STATES.get(state, AccountStatus.ACTIVE)
    if status == AccountStatus.ACTIVE:
        return CloudAccountInfo(account_id, shown)
    error = ProviderError(
        ERROR_PROVIDER,
        f"Account {account_id} is suspended or closing in the organization; its inventory is "
        "kept and it is listed again once it is active.",
    )
    return CloudAccountInfo(account_id, shown, status, error)


def role_inventory(role: AwsRoleSecret, external_id: str | None, **options: Any) -> AwsInventory:
    """The inventory of a role credential: one account, or an Organization."""
    if not external_id:
        raise ProviderError(
            ERROR_AUTH, "This role credential has no external ID; add it again to get one."
        )
    if role.member_role_name:
        return AwsOrganizationInventory(role, external_id, **options)
    return AwsRoleInventory(role, external_id, **options)
