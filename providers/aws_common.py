"""What every AWS kind lister shares: the listing context, names, and policy reading.

Listers run in worker threads with a ready boto3 client; errors propagate to `providers.aws`,
which turns them into safe `ProviderError`s. Only the "does not exist" answers of per-item detail
calls are handled here (a bucket without a policy is an answer, not a failure).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from db.enums import Provider, RelationType
from providers.base import Relation, ResourceRecord


@dataclass(frozen=True, slots=True)
class AwsContext:
    account: str
    partition: str
    region: str
    page_size: int | None = None  # None: the service's default page size

    def arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        where = self.region if region is None else region
        return f"arn:{self.partition}:{service}:{where}:{self.account}:{resource}"

    def pages(
        self,
        client: Any,
        operation: str,
        minimum: int = 5,
        maximum: int = 1000,
        *,
        sized: bool = True,
        **params: Any,
    ) -> Iterator[dict[str, Any]]:
        """Every page of `operation`, the configured page size kept within the operation's
        bounds (`minimum`..`maximum`); `sized=False` keeps the service's own page size."""
        size = min(max(self.page_size or 0, minimum), maximum)
        config = {"PageSize": size} if self.page_size and sized else {}
        yield from client.get_paginator(operation).paginate(PaginationConfig=config, **params)

    def record(self, **fields: Any) -> ResourceRecord:
        return ResourceRecord(provider=Provider.AWS, account=self.account, **fields)

    # Native ids of EC2 resources, as their listers build them (relations point at these).
    def instance(self, instance_id: str) -> str:
        return self.arn("ec2", f"instance/{instance_id}")

    def subnet(self, subnet_id: str) -> str:
        return self.arn("ec2", f"subnet/{subnet_id}")

    def vpc(self, vpc_id: str) -> str:
        return self.arn("ec2", f"vpc/{vpc_id}")

    def security_group(self, group_id: str) -> str:
        return self.arn("ec2", f"security-group/{group_id}")

    def kms_key(self, key: str) -> str:
        """A KMS key ARN from an ARN or a bare key id (aliases stay as given)."""
        return key if key.startswith("arn:") else self.arn("kms", f"key/{key}")


def name_tag(tags: Mapping[str, str], fallback: str) -> str:
    return tags.get("Name") or fallback


def relations(kind: RelationType, targets: Iterable[str | None]) -> list[Relation]:
    return [Relation(kind, target) for target in targets if target]


def missing_is_none(
    call: Callable[..., Any], missing: tuple[str, ...], key: str | None, **params: Any
) -> Any:
    """A detail read (`call(**params)`, then its `key`) whose "not configured" or "gone" error
    codes (`missing`) mean None; other errors raise."""
    try:
        answer = call(**params)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in missing:
            return None
        raise
    return answer[key] if key is not None else answer


def policy_document(policy: Any) -> dict[str, Any]:
    """A policy as a dict, whether the API returned it parsed, as JSON or URL-encoded JSON."""
    if isinstance(policy, Mapping):
        return dict(policy)
    if not isinstance(policy, str) or not policy.strip():
        return {}
    try:
        parsed = json.loads(policy)
    except ValueError:
        from urllib.parse import unquote

        try:
            parsed = json.loads(unquote(policy))
        except ValueError:
            return {}
    return parsed if isinstance(parsed, dict) else {}


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(policy: Any) -> list[Mapping[str, Any]]:
    document = policy_document(policy)
    return [s for s in _listed(document.get("Statement")) if isinstance(s, Mapping)]


def _any_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return "*" in _listed(principal.get("AWS"))
    return False


def allows_public(policy: Any) -> bool:
    """Whether a resource policy has an Allow statement for any principal (`*`) without a
    Condition (a condition such as aws:SourceVpc or aws:PrincipalOrgID may restrict it)."""
    return any(
        s.get("Effect") == "Allow" and _any_principal(s.get("Principal")) and not s.get("Condition")
        for s in statements(policy)
    )


def allows_admin(policy: Any) -> bool:
    """Whether an identity policy allows every action on every resource."""
    return any(
        s.get("Effect") == "Allow"
        and "*" in _listed(s.get("Action"))
        and "*" in _listed(s.get("Resource"))
        for s in statements(policy)
    )


def trusted_principals(policy: Any) -> dict[str, Any]:
    """Who may assume a role, from its trust policy's Allow statements."""
    found: dict[str, set[str]] = {"aws": set(), "service": set(), "federated": set()}
    anyone = False
    for statement in statements(policy):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*":
            anyone = True
            continue
        if not isinstance(principal, Mapping):
            continue
        for key, bucket in (("AWS", "aws"), ("Service", "service"), ("Federated", "federated")):
            values = {str(value) for value in _listed(principal.get(key))}
            anyone = anyone or ("*" in values and key == "AWS")
            found[bucket] |= values
    return {
        "aws": sorted(found["aws"]),
        "services": sorted(found["service"]),
        "federated": sorted(found["federated"]),
        "anyPrincipal": anyone,
    }
