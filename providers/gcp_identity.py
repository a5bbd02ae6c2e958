"""How a GCP credential signs in: its own service-account key, or impersonation.

An impersonation credential stores nothing secret: the server's own Google identity
(Application Default Credentials — `GOOGLE_APPLICATION_CREDENTIALS`, or the platform's workload
identity) asks IAM Credentials `generateAccessToken` for a short-lived token of the customer's
service account (google-auth's `impersonated_credentials`, which refreshes it before expiry).
Those tokens stay in the credentials object, in memory: never stored, logged or returned.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import google.auth
from google.auth import credentials as ga_credentials
from google.auth import impersonated_credentials
from google.auth.exceptions import DefaultCredentialsError
from google.oauth2 import service_account

from providers.base import ERROR_AUTH, ProviderError
from providers.secrets import GcpImpersonationSecret, GcpSecret

CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
TOKEN_LIFETIME_SECONDS = 3600
KEY_REFUSED = "GCP rejected the service-account key."
PROJECT_SCOPE = re.compile(r"^projects/([^/]+)$")


@dataclass(frozen=True, slots=True)
class SignIn:
    credentials: ga_credentials.Credentials
    # What to tell the owner when Google refuses the sign-in (our words, never Google's).
    refused: str


def impersonation_refused(email: str) -> str:
    return (
        f"The server could not impersonate {email}: grant the server's identity "
        "roles/iam.serviceAccountTokenCreator on that service account."
    )


def iam_endpoint(api_endpoint: str | None, email: str) -> str | None:
    """The full `generateAccessToken` URL when IAM Credentials is reached elsewhere
    (`GCP_API_ENDPOINT`, one host or a `{service}` template); None for Google's own."""
    if not api_endpoint:
        return None
    base = api_endpoint.replace("{service}", "iamcredentials").rstrip("/")
    return f"{base}/v1/projects/-/serviceAccounts/{email}:generateAccessToken"


def sign_in(secret: GcpSecret | GcpImpersonationSecret, api_endpoint: str | None) -> SignIn:
    if isinstance(secret, GcpSecret):
        try:
            info = json.loads(secret.service_account_json)
            key = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=[CLOUD_PLATFORM]
            )
        except (ValueError, KeyError, TypeError):
            raise ProviderError(
                ERROR_AUTH, "The service-account JSON is not a usable GCP key."
            ) from None
        return SignIn(key, KEY_REFUSED)
    try:
        source, _ = google.auth.default(scopes=[CLOUD_PLATFORM])
    except DefaultCredentialsError:
        raise ProviderError(
            ERROR_AUTH,
            "This server has no Google identity of its own (Application Default Credentials) "
            "to impersonate a service account with; an operator must set one up.",
        ) from None
    options: dict[str, Any] = {}
    endpoint = iam_endpoint(api_endpoint, secret.service_account_email)
    if endpoint:
        options["iam_endpoint_override"] = endpoint
    target = impersonated_credentials.Credentials(  # type: ignore[no-untyped-call]
        source_credentials=source,
        target_principal=secret.service_account_email,
        target_scopes=[CLOUD_PLATFORM],
        lifetime=TOKEN_LIFETIME_SECONDS,
        **options,
    )
    return SignIn(target, impersonation_refused(secret.service_account_email))


def project_of(secret: GcpSecret | GcpImpersonationSecret) -> str | None:
    """The one project a credential reads, or None when its scope is a folder or organization."""
    scope = secret.scope
    if scope is None and isinstance(secret, GcpSecret):
        return secret.project_id
    match = PROJECT_SCOPE.match(scope or "")
    return match.group(1) if match else None
