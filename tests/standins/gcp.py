"""GCP stand-in: Resource Manager v3 project reads and Cloud Asset `searchAllResources` over
plain HTTP. Requests must carry a JWT signed by the stand-in's service-account key."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from providers.secrets import GcpSecret
from tests.standins.httpserver import Reply, Request, StandinServer, tls_context

PROJECT_ID = "standin-project"
PROJECT_NUMBER = "424242424242"
CLIENT_EMAIL = f"inventory@{PROJECT_ID}.iam.gserviceaccount.com"


@lru_cache(maxsize=2)
def _private_key(which: str) -> rsa.RSAPrivateKey:
    """One RSA key per name for the whole run (generating keys costs CPU)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_json(token_uri: str, key_name: str = "good") -> str:
    pem = _private_key(key_name).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return json.dumps(
        {
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": f"standin-{key_name}",
            "private_key": pem.decode(),
            "client_email": CLIENT_EMAIL,
            "client_id": "123456789",
            "token_uri": token_uri,
        }
    )


def _status(code: int, status: str) -> Reply:
    return code, {"error": {"code": code, "message": status.lower(), "status": status}}, {}


class GcpStandin(StandinServer):
    """Plain HTTP by default; pass `ca_path` to serve HTTPS with a `trustme` certificate."""

    def __init__(self, page_size: int = 2, ca_path: Path | None = None) -> None:
        super().__init__(tls_context(ca_path) if ca_path else None)
        self.ca_bundle = str(ca_path) if ca_path else None
        self.url = f"{'https' if ca_path else 'http'}://127.0.0.1:{self.port}"
        self.page_size = page_size
        self.assets: list[dict[str, Any]] = []
        # Cloud Asset searchAllIamPolicies results: {"resource": name, "policy": {"bindings"}}.
        self.iam_policies: list[dict[str, Any]] = []
        self.iam_searches: list[str] = []  # the `query` of each IAM policy search
        self._public_key = _private_key("good").public_key()

    def secret(self, key_name: str = "good") -> GcpSecret:
        return GcpSecret(
            project_id=PROJECT_ID,
            service_account_json=service_account_json(f"{self.url}/token", key_name),
        )

    def add_asset(self, asset_type: str, path: str, location: str, **extra: Any) -> str:
        service = asset_type.split("/", 1)[0]
        name = f"//{service}/projects/{PROJECT_ID}/{path}"
        self.assets.append(
            {
                "name": name,
                "assetType": asset_type,
                "project": f"projects/{PROJECT_NUMBER}",
                "displayName": path.rsplit("/", 1)[-1],
                "location": location,
                **extra,
            }
        )
        return name

    def populate(self) -> None:
        """Instances of a known and an unknown size, a stopped one, a bucket, network, SQL."""
        for name, zone, size, state in (
            ("vm-a", "us-central1-a", "e2-medium", "RUNNING"),
            ("vm-b", "europe-west1-b", "n9-custom-unlisted", "RUNNING"),
            ("vm-c", "us-central1-a", "e2-medium", "TERMINATED"),
        ):
            self.add_asset(
                "compute.googleapis.com/Instance", f"zones/{zone}/instances/{name}", zone,
                state=state, labels={"team": "infra"},
                versionedResources=[{"version": "v1", "resource": {
                    "machineType": f"https://www.googleapis.com/compute/v1/projects/{PROJECT_ID}"
                                   f"/zones/{zone}/machineTypes/{size}",
                    "networkInterfaces": [{"networkIP": "10.0.0.2",
                                           "accessConfigs": [{"natIP": "34.1.2.3"}]}],
                }}],
            )  # fmt: skip
        self.add_asset("storage.googleapis.com/Bucket", "buckets/standin-data", "us")
        self.add_asset("compute.googleapis.com/Network", "global/networks/default", "global")
        self.add_asset(
            "compute.googleapis.com/Subnetwork", "regions/us-central1/subnetworks/default",
            "us-central1", versionedResources=[{"resource": {"ipCidrRange": "10.128.0.0/20"}}],
        )  # fmt: skip
        self.add_asset("sqladmin.googleapis.com/Instance", "instances/orders", "us-central1",
                       state="RUNNABLE")  # fmt: skip

    def grant(self, resource: str, role: str, *members: str) -> None:
        """An IAM binding on a resource, as the IAM policy search returns it."""
        self.iam_policies.append(
            {
                "resource": resource,
                "project": f"projects/{PROJECT_NUMBER}",
                "policy": {"bindings": [{"role": role, "members": list(members)}]},
            }
        )

    def handle(self, request: Request) -> Reply:
        if request.path == "/token":
            return 400, {"error": "invalid_grant"}, {}
        if not self._authorized(request):
            return _status(401, "UNAUTHENTICATED")
        if request.path == f"/v3/projects/{PROJECT_ID}":
            return 200, self._project(), {}
        if request.path == "/v3/projects:search":
            return 200, {"projects": [self._project()]}, {}
        if request.path == f"/v1/projects/{PROJECT_ID}:searchAllResources":
            return self._search(request)
        if request.path == f"/v1/projects/{PROJECT_ID}:searchAllIamPolicies":
            self.iam_searches.append(str(request.query.get("query") or ""))
            return 200, {"results": self.iam_policies}, {}
        if request.path.startswith(("/v3/projects/", "/v1/projects/")):
            return _status(403, "PERMISSION_DENIED")  # as GCP answers for unknown projects
        return _status(404, "NOT_FOUND")

    def _authorized(self, request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(
                token, self._public_key, algorithms=["RS256"], options={"verify_aud": False}
            )
        except jwt.PyJWTError:
            return False
        return bool(claims.get("iss") == CLIENT_EMAIL)

    def _project(self) -> dict[str, Any]:
        return {
            "name": f"projects/{PROJECT_NUMBER}",
            "projectId": PROJECT_ID,
            "state": "ACTIVE",
            "displayName": "Stand-in project",
        }

    def _search(self, request: Request) -> Reply:
        start = int(request.query.get("pageToken") or 0)
        size = int(request.query.get("pageSize") or self.page_size)
        body: dict[str, Any] = {"results": self.assets[start : start + size]}
        if start + size < len(self.assets):
            body["nextPageToken"] = str(start + size)
        return 200, body, {}
