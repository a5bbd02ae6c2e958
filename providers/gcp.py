"""GCP inventory: the project from Resource Manager, every resource kind from Cloud Asset search.

Both clients use the REST transport (plain HTTPS, one dependency less than gRPC, and reachable
through `GCP_API_ENDPOINT` for private endpoints and stand-ins). google-api-core retries nothing
useful by default for this call (429 is not in its default predicate), so every call gets an
explicit `Retry` on 429/500/502/503/504 with exponential backoff and an overall deadline.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.api_core.retry import Retry, if_exception_type
from google.auth.exceptions import GoogleAuthError
from google.cloud import asset_v1, resourcemanager_v3
from google.oauth2 import service_account

from db.enums import Provider
from providers.base import (
    ERROR_AUTH,
    ERROR_BAD_RESPONSE,
    ERROR_PERMISSION,
    ERROR_PROVIDER,
    ERROR_THROTTLED,
    ERROR_UNAVAILABLE,
    GLOBAL_REGION,
    ProviderError,
    ResourceRecord,
    RetryPolicy,
    Scope,
)
from providers.gcp_records import BUCKET, PUBLIC_POLICY_QUERY, guarded_record, public_bindings
from providers.secrets import GcpSecret
from providers.threads import run_blocking
from providers.wire import repair_gcp_response

T = TypeVar("T")
logger = logging.getLogger("stratograph.providers")

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
ASSETS_KIND = "assets"
ASSETS_SCOPE = Scope(GLOBAL_REGION, ASSETS_KIND, any_region=True, all_types_except=frozenset())
READ_MASK = (
    "name,assetType,project,displayName,description,location,labels,networkTags,state,"
    "createTime,updateTime,additionalAttributes,parentFullResourceName,versionedResources"
)
RETRYABLE = (
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.BadGateway,
    gexc.ServiceUnavailable,
    gexc.GatewayTimeout,
)


class GcpInventory:
    provider = Provider.GCP

    def __init__(
        self,
        secret: GcpSecret,
        *,
        api_endpoint: str | None = None,
        ca_bundle: str | None = None,
        retry: RetryPolicy | None = None,
        page_size: int | None = None,
    ) -> None:
        self.project_id = secret.project_id
        policy = retry or RetryPolicy()
        self._retry = Retry(
            predicate=if_exception_type(*RETRYABLE),
            initial=policy.initial_backoff,
            maximum=policy.max_backoff,
            multiplier=2.0,
            timeout=policy.timeout,
        )
        self._timeout = min(60.0, policy.timeout)
        self._page_size = page_size
        try:
            info = json.loads(secret.service_account_json)
            credentials = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=[CLOUD_PLATFORM]
            )
        except (ValueError, KeyError, TypeError):
            raise ProviderError(
                ERROR_AUTH, "The service-account JSON is not a usable GCP key."
            ) from None
        self._projects = resourcemanager_v3.ProjectsClient(
            credentials=credentials,
            transport="rest",
            client_options=endpoint_options(api_endpoint, "cloudresourcemanager"),
        )
        self._assets = asset_v1.AssetServiceClient(
            credentials=credentials,
            transport="rest",
            client_options=endpoint_options(api_endpoint, "cloudasset"),
        )
        # Before protobuf parses a search page: a result it cannot read costs only itself.
        assets_transport: Any = self._assets._transport
        assets_session: Any = assets_transport._session
        assets_session.hooks["response"].append(repair_gcp_response)
        if ca_bundle:
            # The REST transports expose no CA option. Their requests session has one, but
            # `session.verify` loses to REQUESTS_CA_BUNDLE from the environment; a per-request
            # `verify` wins, so every request of these sessions gets it.
            for transport in (self._projects._transport, self._assets._transport):
                session: Any = transport._session  # type: ignore[union-attr]
                session.request = functools.partial(session.request, verify=ca_bundle)

    async def verify(self) -> None:
        def read_project() -> None:
            self._projects.get_project(
                name=f"projects/{self.project_id}", retry=self._retry, timeout=self._timeout
            )

        await _in_thread(read_project, "read the project")

    async def plan(self) -> list[Scope]:
        return [ASSETS_SCOPE]

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        if scope.kind != ASSETS_KIND:
            raise ProviderError(ERROR_PROVIDER, f"Unknown GCP scope {scope.key!r}")
        return await _in_thread(self._search, "search the project's resources")

    def _search(self) -> list[ResourceRecord]:
        request: dict[str, Any] = {"scope": f"projects/{self.project_id}", "read_mask": READ_MASK}
        if self._page_size:
            request["page_size"] = self._page_size
        pager = self._assets.search_all_resources(
            request=request, retry=self._retry, timeout=self._timeout
        )
        to_dict = asset_v1.ResourceSearchResult.to_dict
        results = [to_dict(item) for item in pager]  # all pages
        public = (
            public_bindings(self._public_policies())
            if any(r.get("asset_type") == BUCKET for r in results)
            else {}
        )
        return [guarded_record(result, self.project_id, public) for result in results]

    def _public_policies(self) -> list[dict[str, Any]]:
        """IAM policies of the project's resources that name allUsers / allAuthenticatedUsers:
        one paged search for the whole scope, not one read per bucket."""
        pager = self._assets.search_all_iam_policies(
            request={"scope": f"projects/{self.project_id}", "query": PUBLIC_POLICY_QUERY},
            retry=self._retry,
            timeout=self._timeout,
        )
        to_dict = asset_v1.IamPolicySearchResult.to_dict
        return [to_dict(item) for item in pager]

    async def close(self) -> None:
        self._projects.transport.close()  # type: ignore[no-untyped-call]
        self._assets.transport.close()  # type: ignore[no-untyped-call]


def endpoint_options(template: str | None, service: str) -> ClientOptions | None:
    """`GCP_API_ENDPOINT` for one API: one host for all (a proxy or stand-in), or a template
    such as `https://{service}-myendpoint.p.googleapis.com` for Private Service Connect."""
    if not template:
        return None
    return ClientOptions(api_endpoint=template.replace("{service}", service))


async def _in_thread(work: Callable[[], T], what: str) -> T:
    try:
        return await run_blocking(work)
    except ProviderError:
        raise
    except gexc.RetryError as exc:
        cause = exc.cause if isinstance(exc.cause, gexc.GoogleAPICallError) else None
        if isinstance(cause, gexc.TooManyRequests):
            raise ProviderError(
                ERROR_THROTTLED, f"GCP kept throttling the request to {what}.", retryable=True
            ) from None
        raise ProviderError(
            ERROR_UNAVAILABLE, f"GCP kept failing to {what} until the deadline.", retryable=True
        ) from None
    except gexc.GoogleAPICallError as exc:
        raise translate_api_error(exc, what) from None
    except GoogleAuthError:
        raise ProviderError(ERROR_AUTH, "GCP rejected the service-account key.") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.warning("unexpected GCP answer while trying to %s: %s", what, type(exc).__name__)
        raise ProviderError(ERROR_BAD_RESPONSE, f"Could not read GCP's answer to {what}.") from None
    except (gexc.GoogleAPIError, OSError) as exc:
        raise ProviderError(
            ERROR_UNAVAILABLE, f"Could not reach GCP to {what} ({type(exc).__name__}).",
            retryable=True,
        ) from None  # fmt: skip


def translate_api_error(exc: gexc.GoogleAPICallError, what: str) -> ProviderError:
    """Our own words: the HTTP status and reason are safe, Google's message is not copied."""
    status = int(exc.code or 0)
    reason = str(exc.reason or type(exc).__name__)[:64]
    if status == 401:
        return ProviderError(ERROR_AUTH, f"GCP rejected the service-account key ({reason}).")
    if status == 403:
        return ProviderError(
            ERROR_PERMISSION,
            f"The service account is not allowed to {what} ({reason}); it needs "
            "roles/cloudasset.viewer and roles/browser.",
        )
    if status == 404:
        return ProviderError(ERROR_PROVIDER, f"GCP could not {what}: the project was not found.")
    if status == 429:
        return ProviderError(
            ERROR_THROTTLED, f"GCP kept throttling the request to {what}.", retryable=True
        )
    if status >= 500:
        return ProviderError(
            ERROR_UNAVAILABLE, f"GCP failed to {what} (HTTP {status}).", retryable=True
        )
    return ProviderError(ERROR_PROVIDER, f"GCP refused to {what} ({reason}).")
