"""How an Azure credential signs in: a client secret, or the server's federated token file.

A federated (workload identity) credential stores nothing secret: azure-identity's
`ClientAssertionCredential` asks us for the assertion on every token request and we read
`AZURE_FEDERATED_TOKEN_FILE` afresh each time, so a token the platform rotates is used at once
(`WorkloadIdentityCredential` would keep a read for minutes). The file's content is a secret: it
goes to Azure AD's token endpoint and nowhere else, never into a message or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.credentials import TokenCredential
from azure.identity import ClientAssertionCredential, ClientSecretCredential

from providers.base import ERROR_AUTH, ProviderError
from providers.secrets import AzureFederatedSecret, AzureSecret

logger = logging.getLogger("stratograph.providers")

TOKEN_FILE_SETTING = "AZURE_FEDERATED_TOKEN_FILE"  # noqa: S105 (a setting's name)
SECRET_REFUSED = "Azure AD rejected the credential (tenant, client id or secret)."  # noqa: S105
FEDERATED_REFUSED = (
    "Azure AD rejected the federated sign-in (tenant, client id, or the app registration has no "
    f"federated credential matching the server's token in {TOKEN_FILE_SETTING})."
)


@dataclass(frozen=True, slots=True)
class SignIn:
    credential: TokenCredential
    # What to tell the owner when Azure AD refuses this credential (our words, never AAD's).
    refused: str

    def close(self) -> None:
        close: Callable[[], None] | None = getattr(self.credential, "close", None)
        if close is not None:
            close()


def token_file_reader(path: str | None) -> Callable[[], str]:
    """The assertion callback: the token file's current content, or a safe AUTH_FAILED error
    that names the setting (the path goes to the operator's log, the content nowhere)."""

    def read() -> str:
        if not path:
            raise ProviderError(
                ERROR_AUTH,
                f"This server has no {TOKEN_FILE_SETTING}; an azureFederated credential signs "
                "in with the workload-identity token file it names.",
            )
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            logger.warning(
                "the federated token file %s cannot be read: %s", path, type(exc).__name__
            )
            raise ProviderError(
                ERROR_AUTH,
                f"The server cannot read its federated token file ({TOKEN_FILE_SETTING}: "
                f"{type(exc).__name__}); an operator must check the workload identity setup.",
            ) from None
        if not token:
            logger.warning("the federated token file %s is empty", path)
            raise ProviderError(
                ERROR_AUTH,
                f"The server's federated token file ({TOKEN_FILE_SETTING}) is empty; an "
                "operator must check the workload identity setup.",
            )
        return token

    return read


def sign_in(
    secret: AzureSecret | AzureFederatedSecret,
    *,
    authority_host: str | None,
    federated_token_file: str | None,
    options: dict[str, Any],
) -> SignIn:
    """The azure-identity credential for `secret`; `options` are transport and retry keywords."""
    authority: dict[str, Any] = {"authority": authority_host} if authority_host else {}
    if isinstance(secret, AzureFederatedSecret):
        assertion = ClientAssertionCredential(
            secret.tenant_id,
            secret.client_id,
            token_file_reader(federated_token_file),
            **authority,
            **options,
        )
        return SignIn(assertion, FEDERATED_REFUSED)
    if authority_host:
        # A private authority (Stack, stand-in) has no public instance metadata to discover.
        authority["disable_instance_discovery"] = True
    client_secret = ClientSecretCredential(
        secret.tenant_id, secret.client_id, secret.client_secret, **authority, **options
    )
    return SignIn(client_secret, SECRET_REFUSED)
