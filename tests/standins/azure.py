"""Azure stand-in: Azure AD (openid configuration + client-credentials token, with a client secret
or a federated client assertion) and the ARM shapes that `ResourceManagementClient` and
`SubscriptionClient` read, over HTTPS with a `trustme` certificate."""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from providers.secrets import AzureFederatedSecret, AzureSecret
from tests.standins.httpserver import Reply, Request, StandinServer, tls_context

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"
SUBSCRIPTION = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CLIENT_SECRET = "standin-azure-client-secret-0001"
# More subscriptions the principal sees (`populate_subscriptions`).
SECOND_SUBSCRIPTION = "bbbbbbbb-cccc-dddd-eeee-ffffffffffff"
DISABLED_SUBSCRIPTION = "cccccccc-dddd-eeee-ffff-000000000000"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _unauthorized(code: str) -> Reply:
    return 401, {"error": {"code": code, "message": "unauthorized"}}, {}


def _refused(code: int, description: str) -> Reply:
    # As Azure AD answers: an AADSTS code and words of its own, never the submitted value.
    error = {
        "error": "invalid_client",
        "error_description": f"AADSTS{code}: {description}",
        "error_codes": [code],
        "correlation_id": str(uuid.uuid4()),
    }
    return 401, error, {}


class AzureStandin(StandinServer):
    def __init__(self, ca_path: Path, page_size: int = 2) -> None:
        context = tls_context(ca_path)
        self.ca_bundle = str(ca_path)
        self.page_size = page_size
        self.tokens: set[str] = set()
        self.resource_groups: list[dict[str, Any]] = []
        self.resources: list[dict[str, Any]] = []
        # subscription id → its ARM subscription entry, resource groups and resources; the
        # first subscription's lists are `resource_groups` and `resources`.
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.groups_of: dict[str, list[dict[str, Any]]] = {}
        self.resources_of: dict[str, list[dict[str, Any]]] = {}
        self.add_subscription(SUBSCRIPTION, "Stand-in subscription")
        self.groups_of[SUBSCRIPTION] = self.resource_groups
        self.resources_of[SUBSCRIPTION] = self.resources
        # Subscriptions whose reads answer 403 (the principal has no role there).
        self.denied_subscriptions: set[str] = set()
        # The token file federated sign-ins must present, read at each token request.
        self.federated_token_file: Path | None = None
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

    def federated_secret(self, subscription_id: str | None = SUBSCRIPTION) -> AzureFederatedSecret:
        return AzureFederatedSecret(
            tenant_id=TENANT, client_id=CLIENT, subscription_id=subscription_id
        )

    def every_subscription_secret(self) -> AzureSecret:
        return AzureSecret(
            tenant_id=TENANT, client_id=CLIENT, subscription_id=None, client_secret=CLIENT_SECRET
        )

    def add_subscription(self, subscription_id: str, name: str, state: str = "Enabled") -> None:
        self.subscriptions[subscription_id] = {
            "id": f"/subscriptions/{subscription_id}",
            "subscriptionId": subscription_id,
            "tenantId": TENANT,
            "displayName": name,
            "state": state,
        }
        self.groups_of.setdefault(subscription_id, [])
        self.resources_of.setdefault(subscription_id, [])

    def populate_subscriptions(self) -> None:
        """A second enabled subscription with a group and a VM, and a disabled one."""
        self.add_subscription(SECOND_SUBSCRIPTION, "Second subscription")
        self.add_group("rg-second", "northeurope", subscription=SECOND_SUBSCRIPTION)
        self.add_resource("rg-second", "Microsoft.Compute/virtualMachines", "vm-second",
                          "northeurope", vm_size="Standard_B2s",
                          subscription=SECOND_SUBSCRIPTION)  # fmt: skip
        self.add_subscription(DISABLED_SUBSCRIPTION, "Disabled subscription", "Disabled")
        self.add_group("rg-disabled", "eastus", subscription=DISABLED_SUBSCRIPTION)

    def add_group(self, name: str, location: str, subscription: str = SUBSCRIPTION) -> None:
        self.groups_of[subscription].append(
            {
                "id": f"/subscriptions/{subscription}/resourceGroups/{name}",
                "name": name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": location,
                "tags": {"owner": "standin"},
                "properties": {"provisioningState": "Succeeded"},
            }
        )

    def add_resource(
        self,
        group: str,
        native_type: str,
        name: str,
        location: str,
        subscription: str = SUBSCRIPTION,
        **extra: Any,
    ) -> str:
        resource_id = (
            f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{native_type}/{name}"
        )
        vm_size = extra.pop("vm_size", None)
        details = extra.pop("details", None)
        if details is not None:
            self.details[resource_id.lower()] = details
        if vm_size:
            self.vms[resource_id.lower()] = (vm_size, extra.pop("power", "running"))
        self.resources_of[subscription].append(
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
        if lowered == "/subscriptions":
            return self._page(path, request, list(self.subscriptions.values()))
        subscription = lowered.split("/")[2] if lowered.startswith("/subscriptions/") else ""
        if subscription not in self.subscriptions:
            return 404, {"error": {"code": "SubscriptionNotFound", "message": "no such"}}, {}
        if subscription in self.denied_subscriptions:
            error = {"code": "AuthorizationFailed", "message": "no role assignment here"}
            return 403, {"error": error}, {}
        prefix = f"/subscriptions/{subscription}"
        if lowered == f"{prefix}/resourcegroups":
            return self._page(path, request, self.groups_of[subscription])
        resources = self.resources_of[subscription]
        if lowered == f"{prefix}/resources":
            return self._page(path, request, resources)
        vm = self.vms.get(lowered)
        if vm is not None:
            found = next(r for r in resources if r["id"].lower() == lowered)
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
            found = next(r for r in resources if r["id"].lower() == lowered)
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
        if form.get("client_id") != CLIENT:
            return _refused(700016, "Application not found in the directory.")
        if "client_assertion" in form or "client_assertion_type" in form:
            if not self._assertion_matches(form):
                return _refused(700213, "No matching federated identity record found.")
        elif form.get("client_secret") != CLIENT_SECRET:
            return _refused(7000215, "Invalid client secret provided.")
        token = secrets.token_urlsafe(24)
        self.tokens.add(token)
        return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}, {}

    def _assertion_matches(self, form: dict[str, str]) -> bool:
        """A federated sign-in presents the token file's content as it is now."""
        if form.get("client_assertion_type") != JWT_BEARER or self.federated_token_file is None:
            return False
        try:
            expected = self.federated_token_file.read_text().strip()
        except OSError:
            return False
        return bool(expected) and form.get("client_assertion") == expected

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
