"""GCP inventory: the project from Resource Manager, every resource kind from Cloud Asset search.

Both clients use the REST transport (plain HTTPS, one dependency less than gRPC, and reachable
through `GCP_API_ENDPOINT` for private endpoints and stand-ins). google-api-core retries nothing
useful by default for this call (429 is not in its default predicate), so every call gets an
explicit `Retry` on 429/500/502/503/504 with exponential backoff and an overall deadline.
Signing in (a key, or impersonation) is `providers.gcp_identity`; a folder or organization of
projects is `providers.gcp_folders`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.api_core.retry import Retry, if_exception_type
from google.auth.exceptions import GoogleAuthError
from google.cloud import asset_v1, resourcemanager_v3

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
from providers.gcp_identity import KEY_REFUSED, project_of, sign_in
from providers.gcp_records import BUCKET, PUBLIC_POLICY_QUERY, guarded_record, public_bindings
from providers.secrets import GcpImpersonationSecret, GcpSecret
from providers.threads import run_blocking
from providers.wire import repair_gcp_response

T = TypeVar("T")
logger = logging.getLogger("stratograph.providers")

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
    """One project, the one the credential names: scope keys carry no account."""

    provider = Provider.GCP

    def __init__(
        self,
        secret: GcpSecret | GcpImpersonationSecret,
        *,
        api_endpoint: str | None = None,
        ca_bundle: str | None = None,
        retry: RetryPolicy | None = None,
        page_size: int | None = None,
    ) -> None:
        self.project_id = project_of(secret) or ""
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
        signed_in = sign_in(secret, api_endpoint)
        self._refused = signed_in.refused
        credentials = signed_in.credentials
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
                # Token refreshes (impersonation, ADC) go through a session of their own.
                refresher: Any = session._auth_request.session
                refresher.request = functools.partial(refresher.request, verify=ca_bundle)

    async def _run(self, work: Callable[[], T], what: str) -> T:
        return await _in_thread(work, what, self._refused)

    async def verify(self) -> None:
        def read_project() -> None:
            self._projects.get_project(
                name=f"projects/{self.project_id}", retry=self._retry, timeout=self._timeout
            )

        await self._run(read_project, "read the project")

    async def plan(self) -> list[Scope]:
        return [ASSETS_SCOPE]

    async def list_scope(self, scope: Scope) -> list[ResourceRecord]:
        if scope.kind != ASSETS_KIND:
            raise ProviderError(ERROR_PROVIDER, f"Unknown GCP scope {scope.key!r}")
        project = scope.account or self.project_id
        if not project:
            raise ProviderError(ERROR_PROVIDER, f"GCP scope {scope.key!r} names no project")
        # A project id is no secret, and it tells the owner which of several failed.
        what = f"search the resources of project {project}" if scope.account else (
            "search the project's resources"
        )  # fmt: skip
        return await self._run(functools.partial(self._search, project), what)

    def _search(self, project: str) -> list[ResourceRecord]:
        request: dict[str, Any] = {"scope": f"projects/{project}", "read_mask": READ_MASK}
        if self._page_size:
            request["page_size"] = self._page_size
        pager = self._assets.search_all_resources(
            request=request, retry=self._retry, timeout=self._timeout
        )
        to_dict = asset_v1.ResourceSearchResult.to_dict
        results = [to_dict(item) for item in pager]  # all pages
        public = (
            public_bindings(self._public_policies(project))
            if any(r.get("asset_type") == BUCKET for r in results)
            else {}
        )
        return [guarded_record(result, project, public) for result in results]

    def _public_policies(self, project: str) -> list[dict[str, Any]]:
        """IAM policies of the project's resources that name allUsers / allAuthenticatedUsers:
        one paged search for the whole scope, not one read per bucket."""
        pager = self._assets.search_all_iam_policies(
            request={"scope": f"projects/{project}", "query": PUBLIC_POLICY_QUERY},
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


async def _in_thread(work: Callable[[], T], what: str, refused: str = KEY_REFUSED) -> T:
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
        raise translate_api_error(exc, what, refused) from None
    except GoogleAuthError:
        raise ProviderError(ERROR_AUTH, refused) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        logger.warning("unexpected GCP answer while trying to %s: %s", what, type(exc).__name__)
        raise ProviderError(ERROR_BAD_RESPONSE, f"Could not read GCP's answer to {what}.") from None
    except (gexc.GoogleAPIError, OSError) as exc:
        raise ProviderError(
            ERROR_UNAVAILABLE, f"Could not reach GCP to {what} ({type(exc).__name__}).",
            retryable=True,
        ) from None  # fmt: skip


def translate_api_error(
    exc: gexc.GoogleAPICallError, what: str, refused: str = KEY_REFUSED
) -> ProviderError:
    """Our own words: the HTTP status and reason are safe, Google's message is not copied."""
    status = int(exc.code or 0)
    reason = str(exc.reason or type(exc).__name__)[:64]
    if status == 401:
        return ProviderError(ERROR_AUTH, f"{refused.removesuffix('.')} ({reason}).")
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
