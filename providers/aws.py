"""AWS inventory with boto3: every enabled region × kind, plus the global S3 bucket listing.

boto3 is blocking, so every SDK call runs in a worker thread. Throttling and 5xx are retried by
botocore itself ("standard" mode, bounded attempts, exponential backoff with jitter); what is left
after that becomes a `ProviderError` whose message we write ourselves: AWS error messages can
name principals and policies, and must not be copied into jobs verbatim.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from itertools import islice
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
)

from db.enums import Provider
from providers.aws_kinds import GLOBAL_KINDS, REGIONAL_KINDS, AwsContext
from providers.base import (
    ERROR_AUTH,
    ERROR_BAD_RESPONSE,
    ERROR_PERMISSION,
    ERROR_PROVIDER,
    ERROR_THROTTLED,
    ERROR_UNAVAILABLE,
    GLOBAL_REGION,
    STREAM_CHUNK,
    ProviderError,
    ResourceRecord,
    RetryPolicy,
    Scope,
)
from providers.secrets import AwsSecret
from providers.threads import run_blocking
from providers.wire import repair_aws_response

T = TypeVar("T")
logger = logging.getLogger("stratograph.providers")

AUTH_CODES = frozenset(
    {
        "AuthFailure",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
    }
)
PERMISSION_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "OptInRequired"}
)
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "SlowDown",
        "RequestThrottled",
    }
)
DISABLED_REGION_STATES = frozenset({"not-opted-in"})
# What an AWS region name looks like (us-east-1, us-gov-west-1, ap-southeast-3): a name from the
# endpoint outside this shape is not a region to plan scopes for (a region names every scope,
# its job records and its rows).
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")


class AwsInventory:
    provider = Provider.AWS

    def __init__(
        self,
        secret: AwsSecret,
        *,
        default_region: str,
        endpoint_url: str | None = None,
        ca_bundle: str | None = None,
        regions: Sequence[str] = (),
        retry: RetryPolicy | None = None,
        page_size: int | None = None,
    ) -> None:
        session = boto3.session.Session(
            aws_access_key_id=secret.access_key_id,
            aws_secret_access_key=secret.secret_access_key,
            aws_session_token=secret.session_token or None,
            region_name=default_region or "us-east-1",
        )
        self._configure(
            session,
            default_region=default_region,
            endpoint_url=endpoint_url,
            ca_bundle=ca_bundle,
            regions=regions,
            retry=retry,
            page_size=page_size,
        )

    def _configure(
        self,
        session: boto3.session.Session,
        *,
        default_region: str,
        endpoint_url: str | None,
        ca_bundle: str | None,
        regions: Sequence[str],
        retry: RetryPolicy | None,
        page_size: int | None,
    ) -> None:
        self._session = session
        self._config = client_config(retry)
        # Before botocore parses a page: what its XML parser cannot read costs one value only.
        self._session.events.register("before-parse", repair_aws_response)
        self._endpoint_url = endpoint_url
        # None keeps botocore's own defaults (AWS_CA_BUNDLE, the config file's ca_bundle).
        self._verify: str | None = ca_bundle or None
        self._default_region = default_region or "us-east-1"
        self._only_regions = tuple(regions)
        self._page_size = page_size
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()  # boto3 sessions are not thread-safe; clients are
        self._identity: tuple[str, str] | None = None
        # Built now (the registry runs in a worker thread) so that a timed identity call
        # measures the cloud, not botocore loading its service models.
        self._client("sts", self._default_region)

    async def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    @property
    def events(self) -> Any:
        """botocore's event hooks of this credential's session; clients created afterwards
        inherit them (tests inject failures here)."""
        return self._session.events

    async def verify(self) -> None:
        self._identity = await in_thread(self._caller_identity, "verify the credential")

    async def account(self) -> str:
        return (await self._ensure_identity())[0]

    async def plan(self) -> list[Scope]:
        await self._ensure_identity()
        regions = await in_thread(self._enabled_regions, "list the enabled regions")
        scopes = [Scope(region, kind) for region in regions for kind in REGIONAL_KINDS]
        scopes += [Scope(GLOBAL_REGION, kind, any_region=True) for kind in GLOBAL_KINDS]
        return scopes

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        return [record async for chunk in self.stream_scope(scope) for record in chunk]

    async def stream_scope(
        self, scope: Scope, chunk_size: int = STREAM_CHUNK
    ) -> AsyncIterator[list[ResourceRecord]]:
        """Page through one scope in a worker thread, a chunk at a time: only the current
        page and chunk are in memory, however many resources the scope holds."""
        account, partition = await self._ensure_identity()
        if scope.account:
            account = scope.account
        if scope.kind in GLOBAL_KINDS:
            service, lister = GLOBAL_KINDS[scope.kind]
            client_region = self._default_region
        elif scope.kind in REGIONAL_KINDS:
            service, lister = REGIONAL_KINDS[scope.kind]
            client_region = scope.region
        else:
            raise ProviderError(ERROR_PROVIDER, f"Unknown AWS resource kind {scope.kind!r}")
        ctx = AwsContext(account, partition, client_region, self._page_size)
        pages: list[Iterator[ResourceRecord]] = []

        def next_chunk() -> list[ResourceRecord]:
            # The generator is created and advanced in worker threads, one call at a time.
            if not pages:
                pages.append(lister(self._client(service, client_region, scope.account), ctx))
            return list(islice(pages[0], chunk_size))

        what = f"list {scope.kind} in {scope.region}"
        if scope.account:
            what += f" of account {scope.account}"
        while chunk := await in_thread(next_chunk, what):
            yield chunk

    async def _ensure_identity(self) -> tuple[str, str]:
        if self._identity is None:
            self._identity = await in_thread(self._caller_identity, "verify the credential")
        return self._identity

    def _session_for(self, account: str) -> boto3.session.Session:
        """The session that reaches `account` (empty: the credential's own account); called
        with the client lock held."""
        return self._session

    def _client(self, service: str, region: str, account: str = "") -> Any:
        with self._lock:
            client = self._clients.get((account, service, region))
            if client is None:
                client = self._session_for(account).client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self._endpoint_url,
                    verify=self._verify,
                    config=self._config,
                )
                self._clients[(account, service, region)] = client
            return client

    def _caller_identity(self) -> tuple[str, str]:
        identity = self._client("sts", self._default_region).get_caller_identity()
        arn = str(identity.get("Arn", "arn:aws:"))
        partition = arn.split(":")[1] if arn.count(":") >= 2 else "aws"
        return str(identity["Account"]), partition or "aws"

    def _enabled_regions(self, account: str = "") -> list[str]:
        answer = self._client("ec2", self._default_region, account).describe_regions()
        listed = [
            r.get("RegionName")
            for r in answer.get("Regions", [])
            if r.get("OptInStatus") not in DISABLED_REGION_STATES
        ]
        valid = [n for n in listed if isinstance(n, str) and REGION_NAME.fullmatch(n)]
        if len(valid) < len(listed):
            # Counted, never quoted: the name came from the endpoint.
            logger.warning(
                "DescribeRegions listed %d names that are not region names; they are not synced",
                len(listed) - len(valid),
            )
        enabled = sorted(set(valid))
        if self._only_regions:
            return [r for r in enabled if r in self._only_regions]
        return enabled


def client_config(retry: RetryPolicy | None) -> Config:
    """botocore's standard retries (throttling and 5xx, exponential backoff with jitter)."""
    policy = retry or RetryPolicy()
    return Config(
        retries={"mode": "standard", "max_attempts": policy.max_attempts},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="stratograph",
    )


async def in_thread(work: Callable[[], T], what: str) -> T:
    try:
        return await run_blocking(work)
    except ProviderError:
        raise
    except ClientError as exc:
        raise translate_client_error(exc, what) from None
    except NoCredentialsError:
        raise ProviderError(ERROR_AUTH, "The AWS credential is incomplete.") from None
    except (ConnectionError, HTTPClientError):
        raise ProviderError(
            ERROR_UNAVAILABLE, f"Could not reach AWS to {what}.", retryable=True
        ) from None
    except BotoCoreError as exc:
        raise ProviderError(
            ERROR_PROVIDER, f"AWS call failed to {what} ({type(exc).__name__})."
        ) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.warning("unexpected AWS answer while trying to %s: %s", what, type(exc).__name__)
        raise ProviderError(ERROR_BAD_RESPONSE, f"Could not read AWS's answer to {what}.") from None


def translate_client_error(exc: ClientError, what: str) -> ProviderError:
    """Our own words for an AWS error: its code and HTTP status are safe, its message is not."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "Unknown")[:64]
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in AUTH_CODES:
        return ProviderError(ERROR_AUTH, f"AWS rejected the credential ({code}).")
    if code in PERMISSION_CODES:
        return ProviderError(
            ERROR_PERMISSION,
            f"The credential is not allowed to {what} ({code}); see the required permissions.",
        )
    if code in THROTTLE_CODES or status == 429:
        return ProviderError(
            ERROR_THROTTLED, f"AWS kept throttling the request to {what} ({code}).", retryable=True
        )
    if status >= 500:
        return ProviderError(
            ERROR_UNAVAILABLE, f"AWS failed to {what} (HTTP {status}, {code}).", retryable=True
        )
    return ProviderError(ERROR_PROVIDER, f"AWS refused to {what} ({code}).")
