"""The plaintext shapes of cloud secrets. They exist only inside a provider call.

`repr` and `str` are redacted so a secret cannot slip into a log line or an error by formatting.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, fields
from typing import Any

from db.enums import Provider

REDACTED = "***"


class _Redacted:
    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={REDACTED if f.metadata.get('secret') else getattr(self, f.name)!r}"
            for f in fields(self)  # type: ignore[arg-type]
        )
        return f"{type(self).__name__}({shown})"

    __str__ = __repr__


def _secret() -> Any:
    from dataclasses import field

    return field(metadata={"secret": True}, repr=False)


@dataclass(frozen=True, repr=False)
class AwsSecret(_Redacted):
    access_key_id: str
    secret_access_key: str = _secret()
    session_token: str | None = _secret()


@dataclass(frozen=True, repr=False)
class AwsRoleSecret(_Redacted):
    """Keyless AWS access: which role the server's own identity assumes. Nothing here is secret
    (the external ID lives in a plain column of the credential row); it is sealed like the other
    kinds so that every credential is opened the same way."""

    role_arn: str
    # Set for an AWS Organization: the role of this name in each member account.
    member_role_name: str | None = None
    # Empty: every region enabled for the account.
    regions: tuple[str, ...] = ()


def new_external_id() -> str:
    """A fresh external ID for a role credential: random, never chosen by a user, so no tenant
    can name (and so borrow) the trust that another tenant's role grants this server."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, repr=False)
class AzureSecret(_Redacted):
    tenant_id: str
    client_id: str
    # None: every subscription the principal can see.
    subscription_id: str | None
    client_secret: str = _secret()


@dataclass(frozen=True, repr=False)
class AzureFederatedSecret(_Redacted):
    """A service principal signed in with the server's federated token file (workload
    identity): nothing secret is stored, the token is read from AZURE_FEDERATED_TOKEN_FILE."""

    tenant_id: str
    client_id: str
    subscription_id: str | None = None


@dataclass(frozen=True, repr=False)
class GcpSecret(_Redacted):
    project_id: str
    service_account_json: str = _secret()
    # `folders/…` or `organizations/…`: every project under it; None: `project_id` only.
    scope: str | None = None


@dataclass(frozen=True, repr=False)
class GcpImpersonationSecret(_Redacted):
    """The server's own Google credentials impersonate `service_account_email` to read `scope`
    (`projects/…`, `folders/…` or `organizations/…`); nothing secret is stored."""

    service_account_email: str
    scope: str


CloudSecret = (
    AwsSecret
    | AwsRoleSecret
    | AzureSecret
    | AzureFederatedSecret
    | GcpSecret
    | GcpImpersonationSecret
)
SecretKind = (
    type[AwsSecret]
    | type[AzureSecret]
    | type[AzureFederatedSecret]
    | type[GcpSecret]
    | type[GcpImpersonationSecret]
)
_BY_PROVIDER: dict[Provider, SecretKind] = {
    Provider.AWS: AwsSecret,
    Provider.AZURE: AzureSecret,
    Provider.GCP: GcpSecret,
}
# Secrets other than a provider's first shape are stored with a "kind" naming their shape, so
# everything sealed before they existed still opens as what it was.
_KIND = "kind"
_BY_KIND: dict[str, tuple[Provider, SecretKind]] = {
    "azureFederated": (Provider.AZURE, AzureFederatedSecret),
    "gcpImpersonation": (Provider.GCP, GcpImpersonationSecret),
}


def provider_of(secret: CloudSecret) -> Provider:
    if isinstance(secret, AwsRoleSecret):
        return Provider.AWS
    for provider, kind in [*_BY_PROVIDER.items(), *_BY_KIND.values()]:
        if isinstance(secret, kind):
            return provider
    raise TypeError(type(secret).__name__)


def serialize(secret: CloudSecret) -> bytes:
    document: dict[str, Any] = asdict(secret)
    for name, (_, kind) in _BY_KIND.items():
        if isinstance(secret, kind):
            document[_KIND] = name
    return json.dumps(document, separators=(",", ":")).encode()


def deserialize(provider: Provider, plaintext: bytes) -> CloudSecret:
    document = json.loads(plaintext)
    name = document.pop(_KIND, None)
    if name is not None:
        owner, kind = _BY_KIND.get(name, (None, AwsSecret))
        if owner != provider:
            raise ValueError(f"not a {provider.value} secret shape")
        return kind(**document)
    # The two AWS kinds share a provider; a role is told apart by its role ARN.
    if provider == Provider.AWS and "role_arn" in document:
        return AwsRoleSecret(
            role_arn=document["role_arn"],
            member_role_name=document.get("member_role_name"),
            regions=tuple(document.get("regions") or ()),
        )
    return _BY_PROVIDER[provider](**document)
