"""Secret inputs for credential tests: random, distinctive strings a leak check can grep for."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@lru_cache(maxsize=1)
def _private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@dataclass
class SubmittedSecret:
    """A `CredentialSecretInput` value and the strings in it that must never come back out."""

    input: dict[str, Any]
    secret_strings: list[str]


def aws_secret(*, with_session_token: bool = False) -> SubmittedSecret:
    secret_key = "awsSECRET" + secrets.token_urlsafe(24)
    aws: dict[str, Any] = {
        "accessKeyId": "AKIA" + secrets.token_hex(8).upper(),
        "secretAccessKey": secret_key,
    }
    strings = [secret_key]
    if with_session_token:
        aws["sessionToken"] = "awsTOKEN" + secrets.token_urlsafe(48)
        strings.append(aws["sessionToken"])
    return SubmittedSecret({"aws": aws}, strings)


def azure_secret() -> SubmittedSecret:
    client_secret = "azSECRET~" + secrets.token_urlsafe(24)
    azure = {
        "tenantId": str(uuid.uuid4()),
        "clientId": str(uuid.uuid4()),
        "clientSecret": client_secret,
        "subscriptionId": str(uuid.uuid4()),
    }
    return SubmittedSecret({"azure": azure}, [client_secret])


def service_account(project_id: str = "demo-project-1", **overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": "gcpKEYID" + secrets.token_hex(16),
        "private_key": _private_key_pem(),
        "client_email": f"reader@{project_id}.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    document.update(overrides)
    return document


def gcp_secret(project_id: str = "demo-project-1") -> SubmittedSecret:
    document = service_account(project_id)
    pem_line = document["private_key"].splitlines()[5]  # a line of the key's base64 body
    return SubmittedSecret(
        {"gcp": {"serviceAccountJson": json.dumps(document), "projectId": project_id}},
        [document["private_key_id"], pem_line],
    )


def all_secrets() -> list[SubmittedSecret]:
    return [aws_secret(with_session_token=True), azure_secret(), gcp_secret()]
