"""The plaintext shapes of cloud secrets. They exist only inside a provider call.

`repr` and `str` are redacted so a secret cannot slip into a log line or an error by formatting.
"""

from __future__ import annotations

import json
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
class AzureSecret(_Redacted):
    tenant_id: str
    client_id: str
    subscription_id: str
    client_secret: str = _secret()


@dataclass(frozen=True, repr=False)
class GcpSecret(_Redacted):
    project_id: str
    service_account_json: str = _secret()


CloudSecret = AwsSecret | AzureSecret | GcpSecret
_BY_PROVIDER: dict[Provider, type[AwsSecret] | type[AzureSecret] | type[GcpSecret]] = {
    Provider.AWS: AwsSecret,
    Provider.AZURE: AzureSecret,
    Provider.GCP: GcpSecret,
}


def provider_of(secret: CloudSecret) -> Provider:
    for provider, kind in _BY_PROVIDER.items():
        if isinstance(secret, kind):
            return provider
    raise TypeError(type(secret).__name__)


def serialize(secret: CloudSecret) -> bytes:
    return json.dumps(asdict(secret), separators=(",", ":")).encode()


def deserialize(provider: Provider, plaintext: bytes) -> CloudSecret:
    return _BY_PROVIDER[provider](**json.loads(plaintext))
