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
    subscription_id: str
    client_secret: str = _secret()


@dataclass(frozen=True, repr=False)
class GcpSecret(_Redacted):
    project_id: str
    service_account_json: str = _secret()


CloudSecret = AwsSecret | AwsRoleSecret | AzureSecret | GcpSecret
_BY_PROVIDER: dict[Provider, type[AwsSecret] | type[AzureSecret] | type[GcpSecret]] = {
    Provider.AWS: AwsSecret,
    Provider.AZURE: AzureSecret,
    Provider.GCP: GcpSecret,
}


def provider_of(secret: CloudSecret) -> Provider:
    if isinstance(secret, AwsRoleSecret):
        return Provider.AWS
    for provider, kind in _BY_PROVIDER.items():
        if isinstance(secret, kind):
            return provider
    raise TypeError(type(secret).__name__)


def serialize(secret: CloudSecret) -> bytes:
    return json.dumps(asdict(secret), separators=(",", ":")).encode()


def deserialize(provider: Provider, plaintext: bytes) -> CloudSecret:
    values = json.loads(plaintext)
    # The two AWS kinds share a provider; a role is told apart by its role ARN.
    if provider == Provider.AWS and "role_arn" in values:
        return AwsRoleSecret(
            role_arn=values["role_arn"],
            member_role_name=values.get("member_role_name"),
            regions=tuple(values.get("regions") or ()),
        )
    return _BY_PROVIDER[provider](**values)
