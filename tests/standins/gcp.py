"""GCP stand-in: Resource Manager v3 project reads, Cloud Asset `searchAllResources` at project,
folder and organization scope, an OAuth token endpoint for the server's own service account
(the JWT-bearer grant) and IAM Credentials `generateAccessToken`, over plain HTTP (or HTTPS).

Requests must carry a JWT signed by the stand-in's service-account key, or an access token
`generateAccessToken` issued for a service account the caller may impersonate."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from providers.secrets import GcpImpersonationSecret, GcpSecret
from tests.standins.httpserver import Reply, Request, StandinServer, tls_context

PROJECT_ID = "standin-project"
PROJECT_NUMBER = "424242424242"
CLIENT_EMAIL = f"inventory@{PROJECT_ID}.iam.gserviceaccount.com"
# The stratograph server's own identity (its Application Default Credentials).
SERVER_EMAIL = "stratograph@host-project.iam.gserviceaccount.com"
# The customer's service account the server impersonates.
READER_EMAIL = "reader@customer-project.iam.gserviceaccount.com"
ORGANIZATION = "organizations/4200"
FOLDER = "folders/1001"  # under ORGANIZATION
SUBFOLDER = "folders/1002"  # under FOLDER
OTHER_FOLDER = "folders/2001"  # under ORGANIZATION
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GENERATE_ACCESS_TOKEN = ":generateAccessToken"
PROJECT_ASSET = "cloudresourcemanager.googleapis.com/Project"


@dataclass
class Project:
    project_id: str
    number: str
    parent: str
    state: str = "ACTIVE"
    assets: list[dict[str, Any]] = field(default_factory=list)


@lru_cache(maxsize=2)
def _private_key(which: str) -> rsa.RSAPrivateKey:
    """One RSA key per name for the whole run (generating keys costs CPU)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def service_account_json(
    token_uri: str, key_name: str = "good", email: str = CLIENT_EMAIL, project: str = PROJECT_ID
) -> str:
    pem = _private_key(key_name).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return json.dumps(
        {
            "type": "service_account",
            "project_id": project,
            "private_key_id": f"standin-{key_name}",
            "private_key": pem.decode(),
            "client_email": email,
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
        self._server_key = _private_key("server").public_key()
        # Resource hierarchy: folder or organization → its parent ("" for an organization).
        self.nodes: dict[str, str] = {ORGANIZATION: "", FOLDER: ORGANIZATION}
        self.projects: dict[str, Project] = {}
        self.add_project(PROJECT_ID, PROJECT_NUMBER, FOLDER).assets = self.assets
        # Projects whose reads answer 403 (the caller has no role there).
        self.denied_projects: set[str] = set()
        # target service account → the identities allowed to mint its tokens.
        self.token_creators: dict[str, set[str]] = {READER_EMAIL: {SERVER_EMAIL}}
        self.server_tokens: set[str] = set()  # issued by /token to the server's identity
        self.impersonated: dict[str, str] = {}  # access token → the service account it acts as

    def add_project(
        self, project_id: str, number: str, parent: str, state: str = "ACTIVE"
    ) -> Project:
        project = Project(project_id, number, parent, state)
        self.projects[project_id] = project
        return project

    def populate_hierarchy(self) -> None:
        """Under FOLDER: PROJECT_ID, a project in SUBFOLDER and one being deleted; another
        folder's project beside it in the organization."""
        self.nodes[SUBFOLDER] = FOLDER
        self.nodes[OTHER_FOLDER] = ORGANIZATION
        self.add_project("standin-nested", "424242424243", SUBFOLDER)
        self.add_asset("compute.googleapis.com/Instance", "zones/us-east1-b/instances/vm-nested",
                       "us-east1-b", project="standin-nested", state="RUNNING")  # fmt: skip
        self.add_project("standin-leaving", "424242424244", FOLDER, state="DELETE_REQUESTED")
        self.add_asset("storage.googleapis.com/Bucket", "buckets/leaving", "us",
                       project="standin-leaving")  # fmt: skip
        self.add_project("standin-elsewhere", "424242424245", OTHER_FOLDER)
        self.add_asset("storage.googleapis.com/Bucket", "buckets/elsewhere", "us",
                       project="standin-elsewhere")  # fmt: skip

    def server_credentials_json(self, key_name: str = "server") -> str:
        """The server's own service-account file (what GOOGLE_APPLICATION_CREDENTIALS names)."""
        return service_account_json(
            f"{self.url}/token", key_name, email=SERVER_EMAIL, project="host-project"
        )

    def impersonation_secret(
        self, scope: str = f"projects/{PROJECT_ID}", email: str = READER_EMAIL
    ) -> GcpImpersonationSecret:
        return GcpImpersonationSecret(service_account_email=email, scope=scope)

    def scoped_secret(self, scope: str) -> GcpSecret:
        return GcpSecret(
            project_id=PROJECT_ID,
            service_account_json=service_account_json(f"{self.url}/token"),
            scope=scope,
        )

    def secret(self, key_name: str = "good") -> GcpSecret:
        return GcpSecret(
            project_id=PROJECT_ID,
            service_account_json=service_account_json(f"{self.url}/token", key_name),
        )

    def add_asset(
        self, asset_type: str, path: str, location: str, project: str = PROJECT_ID, **extra: Any
    ) -> str:
        service = asset_type.split("/", 1)[0]
        name = f"//{service}/projects/{project}/{path}"
        self.projects[project].assets.append(
            {
                "name": name,
                "assetType": asset_type,
                "project": f"projects/{self.projects[project].number}",
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
        path = request.path
        if path == "/token":
            return self._token(request)
        if path.endswith(GENERATE_ACCESS_TOKEN) and request.method == "POST":
            return self._generate_access_token(request)
        if not self._authorized(request):
            return _status(401, "UNAUTHENTICATED")
        if path == "/v3/projects:search":
            return 200, {"projects": [self._project(self.projects[PROJECT_ID])]}, {}
        if path.startswith("/v3/projects/"):
            project = self._readable(path.removeprefix("/v3/projects/"))
            return (
                (200, self._project(project), {}) if project else _status(403, "PERMISSION_DENIED")
            )
        scope, _, method = path.removeprefix("/v1/").partition(":")
        if method == "searchAllResources":
            return self._search(request, scope)
        if method == "searchAllIamPolicies" and self._readable(scope.removeprefix("projects/")):
            self.iam_searches.append(str(request.query.get("query") or ""))
            return 200, {"results": self.iam_policies}, {}
        if path.startswith(("/v3/projects/", "/v1/")):
            return _status(403, "PERMISSION_DENIED")  # as GCP answers for unknown scopes
        return _status(404, "NOT_FOUND")

    def _readable(self, project_id: str) -> Project | None:
        if project_id in self.denied_projects:
            return None
        return self.projects.get(project_id)

    def _authorized(self, request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token in self.impersonated:
            return True
        try:
            claims = jwt.decode(
                token, self._public_key, algorithms=["RS256"], options={"verify_aud": False}
            )
        except jwt.PyJWTError:
            return False
        return bool(claims.get("iss") == CLIENT_EMAIL)

    def _token(self, request: Request) -> Reply:
        """The JWT-bearer grant of the server's own service account (signed with its key)."""
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        try:
            claims = jwt.decode(
                form.get("assertion", ""), self._server_key, algorithms=["RS256"],
                options={"verify_aud": False},
            )  # fmt: skip
        except jwt.PyJWTError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT."}, {}
        if form.get("grant_type") != JWT_BEARER_GRANT or claims.get("iss") != SERVER_EMAIL:
            return 400, {"error": "invalid_grant", "error_description": "Invalid grant."}, {}
        token = secrets.token_urlsafe(24)
        self.server_tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599}, {}

    def _generate_access_token(self, request: Request) -> Reply:
        """IAM Credentials: a token of the target service account for an allowed caller."""
        caller = request.headers.get("authorization", "").removeprefix("Bearer ")
        if caller not in self.server_tokens:
            return _status(401, "UNAUTHENTICATED")
        prefix = "/v1/projects/-/serviceAccounts/"
        target = request.path.removeprefix(prefix).removesuffix(GENERATE_ACCESS_TOKEN)
        if not request.path.startswith(prefix) or SERVER_EMAIL not in self.token_creators.get(
            target, set()
        ):
            return _status(403, "PERMISSION_DENIED")  # iam.serviceAccounts.getAccessToken
        token = secrets.token_urlsafe(24)
        self.impersonated[token] = target
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 200, {"accessToken": token, "expireTime": expires}, {}

    def _project(self, project: Project) -> dict[str, Any]:
        return {
            "name": f"projects/{project.number}",
            "projectId": project.project_id,
            "state": project.state,
            "displayName": f"Stand-in {project.project_id}",
            "parent": project.parent,
        }

    def _under(self, node: str, ancestor: str) -> bool:
        while node:
            if node == ancestor:
                return True
            node = self.nodes.get(node, "")
        return False

    def _project_asset(self, project: Project) -> dict[str, Any]:
        """A project as Cloud Asset search returns it (its id among the additional attributes)."""
        return {
            "name": f"//cloudresourcemanager.googleapis.com/projects/{project.number}",
            "assetType": PROJECT_ASSET,
            "project": f"projects/{project.number}",
            "displayName": f"Stand-in {project.project_id}",
            "state": project.state,
            "additionalAttributes": {"projectId": project.project_id},
            "parentFullResourceName": f"//cloudresourcemanager.googleapis.com/{project.parent}",
        }

    def _search(self, request: Request, scope: str) -> Reply:
        kind, _, name = scope.partition("/")
        if kind == "projects":
            project = self._readable(name)
            if project is None:
                return _status(403, "PERMISSION_DENIED")
            results = project.assets
        elif scope in self.nodes:
            under = [p for p in self.projects.values() if self._under(p.parent, scope)]
            if request.query.get("assetTypes") == PROJECT_ASSET:
                results = [self._project_asset(p) for p in under]
            else:
                results = [asset for p in under for asset in p.assets]
        else:
            return _status(403, "PERMISSION_DENIED")
        start = int(request.query.get("pageToken") or 0)
        size = int(request.query.get("pageSize") or self.page_size)
        body: dict[str, Any] = {"results": results[start : start + size]}
        if start + size < len(results):
            body["nextPageToken"] = str(start + size)
        return 200, body, {}
