"""Keyless AWS access: the server's own identity assumes the customer's role.

The server's identity is boto3's default chain (environment, shared config or profile, container
or instance role): whatever the process runs as, never a stored secret. Every AssumeRole carries
the credential's external ID, which the server generated (AWS's guard against the confused
deputy: another tenant naming the same role ARN gets a different ID, which that role's trust
policy does not accept).

Temporary credentials come from botocore's own `AssumeRoleCredentialFetcher` behind
`DeferredRefreshableCredentials`: fetched on first use, held in this inventory's memory only, and
refreshed by botocore before they expire (it refreshes in the background from 15 minutes before
expiry and blocks for a fresh set from 10 minutes before), so a long sync never signs with an
expired key and nothing is listed twice. They are never written to the database, a log, a job
or an answer.

An Organization (`member_role_name` set): `organizations:ListAccounts` from the given role, then
the member role in each account, assumed directly by the server's identity (not chained from the
management role): the member roles carry the same trust policy as the management role (one
template, deployed by a StackSet), the management role needs no `sts:AssumeRole` permission of its
own, and chained sessions would be capped at one hour. The account that owns the given role is
listed with that role (service-managed StackSets do not deploy to the management account).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import boto3
import botocore.session
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    CredentialProvider,
    CredentialResolver,
    Credentials,
    DeferredRefreshableCredentials,
)
from botocore.exceptions import ClientError

from db.enums import AccountStatus
from providers.aws import (
    AUTH_CODES,
    PERMISSION_CODES,
    AwsInventory,
    client_config,
    in_thread,
    translate_client_error,
)
from providers.aws_kinds import GLOBAL_KINDS, REGIONAL_KINDS
from providers.base import (
    ERROR_AUTH,
    ERROR_PERMISSION,
    ERROR_PROVIDER,
    GLOBAL_REGION,
    CloudAccountInfo,
    ProviderError,
    RetryPolicy,
    Scope,
)
from providers.secrets import AwsRoleSecret
from providers.wire import repair_aws_response

logger = logging.getLogger("stratograph.providers")

SESSION_NAME = "stratograph"
ACCOUNT_ID = re.compile(r"[0-9]{12}")
# Organizations' own statuses; anything but ACTIVE cannot be listed.
INACTIVE_STATES = {"SUSPENDED": AccountStatus.SUSPENDED, "PENDING_CLOSURE": AccountStatus.SUSPENDED}
NO_SERVER_IDENTITY = (
    "This server has no AWS identity of its own (environment, profile, or container or instance "
    "role) to assume roles with; an operator must give it one."
)


class _Assumed(CredentialProvider):
    """Hands botocore one ready (refreshable) credentials object."""

    METHOD = "assume-role"

    def __init__(self, credentials: Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> Credentials:
        return self._credentials


def refusal(role_arn: str, denied_code: str) -> Callable[[ClientError], ProviderError]:
    """Our words for a failed AssumeRole of `role_arn`; a denial is reported as `denied_code`."""

    def translate(exc: ClientError) -> ProviderError:
        code = str(exc.response.get("Error", {}).get("Code") or "Unknown")[:64]
        if code in PERMISSION_CODES:
            return ProviderError(
                denied_code,
                f"AWS refused to let this server assume the role {role_arn} ({code}): the role's "
                "trust policy must allow this server's account with the condition sts:ExternalId "
                "equal to this credential's externalId (see its onboarding).",
            )
        if code in AUTH_CODES:
            return ProviderError(
                ERROR_AUTH,
                f"AWS rejected this server's own identity ({code}) while assuming the role "
                f"{role_arn}; an operator must check the server's AWS credentials.",
            )
        return translate_client_error(exc, f"assume the role {role_arn}")

    return translate


def assumed_session(
    sts: Any,
    source: Credentials,
    role_arn: str,
    external_id: str,
    region: str,
    *,
    refused: Callable[[ClientError], ProviderError],
    duration_seconds: int | None = None,
) -> boto3.session.Session:
    """A session signing as `role_arn`, assumed with `sts` (the server's own client)."""
    extra: dict[str, Any] = {"RoleSessionName": SESSION_NAME, "ExternalId": external_id}
    if duration_seconds is not None:
        extra["DurationSeconds"] = duration_seconds
    fetcher = AssumeRoleCredentialFetcher(
        # The server's STS client signs with the server identity's own credentials, refreshing
        # them itself when they are temporary (instance or container role).
        client_creator=lambda *_, **__: sts,
        source_credentials=source,
        role_arn=role_arn,
        extra_args=extra,
    )

    def fetch() -> Any:
        try:
            return fetcher.fetch_credentials()
        except ClientError as exc:
            raise refused(exc) from None

    credentials = DeferredRefreshableCredentials(refresh_using=fetch, method="assume-role")
    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver([_Assumed(credentials)]))
    session = boto3.session.Session(botocore_session=core, region_name=region)
    # Before botocore parses a page: what its XML parser cannot read costs one value only.
    session.events.register("before-parse", repair_aws_response)
    return session


def _arn_parts(role_arn: str) -> tuple[str, str]:
    """(partition, account) of a role ARN checked by the credential validation."""
    parts = role_arn.split(":")
    return parts[1], parts[4]


class AwsRoleInventory(AwsInventory):
    """One AWS account reached through a role the server assumes with the external ID."""

    def __init__(
        self,
        role: AwsRoleSecret,
        external_id: str,
        *,
        default_region: str,
        endpoint_url: str | None = None,
        ca_bundle: str | None = None,
        regions: Sequence[str] = (),
        retry: RetryPolicy | None = None,
        page_size: int | None = None,
        session_seconds: int | None = None,
    ) -> None:
        region = default_region or "us-east-1"
        self._role = role
        self._external_id = external_id
        self._session_seconds = session_seconds
        self._partition, self._role_account = _arn_parts(role.role_arn)
        server = boto3.session.Session(region_name=region)
        source = server.get_credentials()
        if source is None:
            raise ProviderError(ERROR_AUTH, NO_SERVER_IDENTITY)
        self._source = source
        self._sts = server.client(
            "sts",
            region_name=region,
            endpoint_url=endpoint_url,
            verify=ca_bundle or None,
            config=client_config(retry),
        )
        session = assumed_session(
            self._sts,
            source,
            role.role_arn,
            external_id,
            region,
            refused=refusal(role.role_arn, ERROR_AUTH),
            duration_seconds=session_seconds,
        )
        chosen = [r for r in role.regions if not regions or r in regions]
        self._configure(
            session,
            default_region=region,
            endpoint_url=endpoint_url,
            ca_bundle=ca_bundle,
            regions=chosen if role.regions else regions,
            retry=retry,
            page_size=page_size,
        )
        # An empty choice (the user's regions all outside the operator's) lists nothing.
        self._none_chosen = bool(role.regions) and not chosen

    async def close(self) -> None:
        await super().close()
        self._sts.close()

    def _enabled_regions(self, account: str = "") -> list[str]:
        if self._none_chosen:
            return []
        return super()._enabled_regions(account)


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
