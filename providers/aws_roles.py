"""Keyless AWS access: the server's own identity assumes the customer's role.

The server's identity is boto3's default chain (environment, shared config or profile, container
or instance role): whatever the process runs as, never a stored secret. Every AssumeRole carries
the credential's external ID, which the server generated (AWS's guard against the confused
deputy: another tenant naming the same role ARN gets a different ID, which that role's trust
policy does not accept).

Temporary credentials come from botocore's own `AssumeRoleCredentialFetcher` behind
`DeferredRefreshableCredentials`: fetched on first use, held in this inventory's memory only, and
refreshed by botocore before they expire (the first call within 15 minutes of expiry fetches a
fresh set while other threads keep signing with the current one; from 10 minutes before, every
call waits for it), so a long sync never signs with an expired key and nothing is listed twice.
They are never written to the database, a log, a job or an answer.

An Organization (`member_role_name` set) is `providers.aws_organizations`.
"""

from __future__ import annotations

import logging
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

from providers.aws import (
    AUTH_CODES,
    PERMISSION_CODES,
    AwsInventory,
    client_config,
    translate_client_error,
)
from providers.base import (
    ERROR_AUTH,
    ProviderError,
    RetryPolicy,
)
from providers.secrets import AwsRoleSecret
from providers.wire import repair_aws_response

logger = logging.getLogger("stratograph.providers")

SESSION_NAME = "stratograph"
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
