"""Azure stand-in: Azure AD (openid configuration + client-credentials token) and the ARM shapes
that `ResourceManagementClient` reads, over HTTPS with a `trustme` certificate."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from providers.secrets import AzureSecret
from tests.standins.httpserver import Reply, Request, StandinServer, tls_context

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUBSCRIPTION = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CLIENT_SECRET = "standin-azure-client-secret-0001"


def _unauthorized(code: str) -> Reply:
    return 401, {"error": {"code": code, "message": "unauthorized"}}, {}


class AzureStandin(StandinServer):
    def __init__(self, ca_path: Path, page_size: int = 2) -> None:
        context = tls_context(ca_path)
        self.ca_bundle = str(ca_path)
        self.page_size = page_size
        self.tokens: set[str] = set()
        self.resource_groups: list[dict[str, Any]] = []
        self.resources: list[dict[str, Any]] = []
        # Properties of a resource's own read (GET by id), for kinds read in detail.
        self.details: dict[str, dict[str, Any]] = {}
        # lower-cased VM id → (size, power state), read by GET by id with the instance view
        self.vms: dict[str, tuple[str, str]] = {}
        super().__init__(tls_context=context)
        self.url = f"https://127.0.0.1:{self.port}"

    def secret(self, client_secret: str = CLIENT_SECRET) -> AzureSecret:
        return AzureSecret(
            tenant_id=TENANT,
            client_id=CLIENT,
            subscription_id=SUBSCRIPTION,
            client_secret=client_secret,
        )

    def add_group(self, name: str, location: str) -> None:
        self.resource_groups.append(
            {
                "id": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{name}",
                "name": name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "tags": {"owner": "standin"},
                "properties": {"provisioningState": "Succeeded"},
            }
        )

    def add_resource(
        self, group: str, native_type: str, name: str, location: str, **extra: Any
    ) -> str:
        resource_id = (
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{native_type}/{name}"
        )
        vm_size = extra.pop("vm_size", None)
        details = extra.pop("details", None)
        if details is not None:
            self.details[resource_id.lower()] = details
        if vm_size:
            self.vms[resource_id.lower()] = (vm_size, extra.pop("power", "running"))
        self.resources.append(
            {
                "id": resource_id,
                "name": name,
                "type": native_type,
                "location": location,
                "provisioningState": "Succeeded",
                **extra,
            }
        )
        return resource_id

    def populate(self) -> None:
        """Two groups; VMs of a known, an unknown size and deallocated; storage, network, SQL."""
        self.add_group("rg-web", "eastus")
        self.add_group("rg-data", "westeurope")
        self.add_resource(
            "rg-web",
            "Microsoft.Compute/virtualMachines",
            "vm-web-1",
            "eastus",
            vm_size="Standard_B2s",
            tags={"env": "prod"},
        )
        self.add_resource(
            "rg-web",
            "Microsoft.Compute/virtualMachines",
            "vm-odd",
            "eastus",
            vm_size="Standard_Unlisted_v9",
        )
        self.add_resource(
            "rg-web",
            "Microsoft.Compute/virtualMachines",
            "vm-parked",
            "eastus",
            vm_size="Standard_B2s",
            power="deallocated",
        )
        self.add_resource("rg-web", "Microsoft.Network/virtualNetworks", "vnet-web", "eastus")
        self.add_resource("rg-web", "Microsoft.Network/publicIPAddresses", "ip-web", "eastus")
        self.add_resource(
            "rg-data",
            "Microsoft.Storage/storageAccounts",
            "stdata",
            "westeurope",
            sku={"name": "Standard_LRS", "tier": "Standard"},
            kind="StorageV2",
            details={
                "allowBlobPublicAccess": True,
                "minimumTlsVersion": "TLS1_0",
                "supportsHttpsTrafficOnly": True,
                "publicNetworkAccess": "Enabled",
                "networkAcls": {"defaultAction": "Allow"},
                "encryption": {"keySource": "Microsoft.Storage"},
            },
        )
        self.add_resource("rg-data", "Microsoft.Sql/servers", "sql-data", "westeurope")
        self.add_resource("rg-data", "Microsoft.Web/sites", "fn-data", "westeurope",
                          kind="functionapp,linux")  # fmt: skip

    def handle(self, request: Request) -> Reply:
        path = request.path.rstrip("/")
        lowered = path.lower()
        if lowered == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            return 200, self._openid_configuration(), {}
        if lowered == f"/{TENANT}/oauth2/v2.0/token" and request.method == "POST":
            return self._token(request)
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
            return _unauthorized("InvalidAuthenticationToken")
        prefix = f"/subscriptions/{SUBSCRIPTION}"
        if not lowered.startswith(prefix):
            return 404, {"error": {"code": "SubscriptionNotFound", "message": "no such"}}, {}
        if lowered == f"{prefix}/resourcegroups":
            return self._page(path, request, self.resource_groups)
        if lowered == f"{prefix}/resources":
            return self._page(path, request, self.resources)
        vm = self.vms.get(lowered)
        if vm is not None:
            found = next(r for r in self.resources if r["id"].lower() == lowered)
            properties: dict[str, Any] = {"hardwareProfile": {"vmSize": vm[0]}}
            if request.query.get("$expand") == "instanceView":
                statuses = [
                    {"code": "ProvisioningState/succeeded"},
                    {"code": f"PowerState/{vm[1]}"},
                ]
                properties["instanceView"] = {"statuses": statuses}
            return 200, {**found, "properties": properties}, {}
        details = self.details.get(lowered)
        if details is not None:
            found = next(r for r in self.resources if r["id"].lower() == lowered)
            return 200, {**found, "properties": details}, {}
        return 404, {"error": {"code": "ResourceNotFound", "message": "no such"}}, {}

    def _openid_configuration(self) -> dict[str, Any]:
        base = f"{self.url}/{TENANT}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_types_supported": ["code", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "tenant_region_scope": "NA",
        }

    def _token(self, request: Request) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("client_id") != CLIENT or form.get("client_secret") != CLIENT_SECRET:
            error = {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
                "error_codes": [7000215],
                "correlation_id": str(uuid.uuid4()),
            }
            return 401, error, {}
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}, {}

    def _page(self, path: str, request: Request, items: list[dict[str, Any]]) -> Reply:
        start = int(request.query.get("$skiptoken") or 0)
        page = items[start : start + self.page_size]
        body: dict[str, Any] = {"value": page}
        if start + self.page_size < len(items):
            version = request.query.get("api-version", "")
            body["nextLink"] = (
                f"{self.url}{path}?api-version={version}&$skiptoken={start + self.page_size}"
            )
        return 200, body, {}
