"""A seeded generator of `dashboard` and `credentials` operations for the differential tests.

The same decorations as the `resources` corpus (aliases, named and inline fragments,
`__typename`, `@skip`/`@include` with literals and variables, field merging, literals and
variables), over every plain field of these roots and the resolver fields the fast path serves
(`recentActivity`, `resourceCount`, `lastSync`, `resources`), mixed with what it must hand over:
other resolver fields, out-of-range limits and page sizes, bad filters, cursors (forged, another
credential's).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tests.fast_path_corpus import NODE_FIELDS, PAGE_INFO, Operation, _Builder

HEALTH = "health { status responseTimeMs checkedAt errorMessage __typename }"
CREDENTIAL_FIELDS = (
    "id",
    "name",
    "provider",
    "defaultRegion",
    "fingerprint",
    "createdAt",
    "updatedAt",
    "lastUsedAt",
    "secretRotatedAt",
    "secretAgeDays",
    "externalId",
    "__typename",
    HEALTH,
)
JOB_FIELDS = (
    "id",
    "status",
    "trigger",
    "queuedAt",
    "startedAt",
    "finishedAt",
    "progress",
    "added",
    "updated",
    "removed",
    "errors { scope code message resourceId }",
    "warnings { scope code count resourceIds }",
    "__typename",
)
DASHBOARD_FIELDS = (
    "totalResources",
    "activeVms",
    "totalStorage",
    "totalNetworks",
    "estimatedMonthlyCost",
    "lastUpdated",
    "__typename",
    "providerBreakdown { provider count vms storage networks __typename }",
    "costByProvider { provider cost }",
    "costByService { service cost }",
    "regionDistribution { region count }",
    "accounts { account provider count }",
)
# Resolver fields the fast path leaves to the regular path.
DASHBOARD_HANDED_OVER = (
    "findingsBySeverity { severity count }",
    "complianceSummary { framework passed failed }",
    "recentActivity { auditEvent { action } }",
    "recentActivity { syncJob { status } }",
    "providerHealth { credential { resourceCount } }",
)
CREDENTIAL_HANDED_OVER = (
    "onboarding { instructions }",
    "accounts { accountId }",
    "lastSync { credential { name } }",
    "resources(first: 2) { edges { node { credential { name } } } }",
)


@dataclass
class RootsBuilder(_Builder):
    nested_cursors: list[str] = field(default_factory=list)

    def pick(self, fields: tuple[str, ...], low: int = 1, high: int = 6) -> list[str]:
        chosen = self.rnd.sample(fields, self.rnd.randint(low, min(high, len(fields))))
        return [f"{self.alias(name)}{self.condition()}" for name in chosen]

    def wrap(self, type_name: str, parts: list[str]) -> str:
        roll = self.rnd.random()
        if roll < 0.15:
            fragment = self.name("F")
            self.fragments.append(f"fragment {fragment} on {type_name} {{ {' '.join(parts)} }}")
            return f"...{fragment}{self.condition()} __typename"
        if roll < 0.25:
            return f"... on {type_name} {{ {' '.join(parts)} }}"
        return " ".join(parts)

    def credential(self, *, nested: bool) -> str:
        parts = self.pick(CREDENTIAL_FIELDS, 1, 5)
        if nested:
            rnd = self.rnd
            if rnd.random() < 0.5:
                parts.append(f"{self.alias('resourceCount')}{self.condition()}")
            if rnd.random() < 0.5:
                parts.append(f"lastSync {{ {' '.join(self.pick(JOB_FIELDS, 1, 5))} }}")
            if rnd.random() < 0.6:
                parts.append(
                    f"{self.alias('resources')}{self.nested_arguments()} {{ {self.connection()} }}"
                )
            if rnd.random() < 0.08:
                parts.append(rnd.choice(CREDENTIAL_HANDED_OVER))
        return self.wrap("CloudCredential", parts)

    def nested_arguments(self) -> str:
        rnd = self.rnd
        arguments: list[str] = []
        if rnd.random() < 0.8:
            size = rnd.choice((1, 2, 5, 10)) if rnd.random() < 0.9 else rnd.choice((0, 101, -1))
            arguments.append(f"first: {self.value('Int', size)}")
        if rnd.random() < 0.15:
            cursor = rnd.choice(self.nested_cursors) if self.nested_cursors else "x"
            if rnd.random() < 0.3:
                cursor = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
            arguments.append(f"after: {self.value('String', cursor)}")
        if rnd.random() < 0.4:
            chosen = self.filter()
            chosen.pop("credentialId", None)  # not an argument of a credential's own page
            arguments.append(f"filter: {self.value('ResourceFilter', chosen)}")
        return f"({', '.join(arguments)})" if arguments else ""

    def dashboard(self) -> str:
        parts = self.pick(DASHBOARD_FIELDS, 1, 8)
        rnd = self.rnd
        if rnd.random() < 0.4:
            parts.append(
                f"providerHealth {{ credential {{ {self.credential(nested=False)} }} {HEALTH} }}"
            )
        if rnd.random() < 0.4:
            limit = rnd.choice((1, 3, 10, 50)) if rnd.random() < 0.85 else rnd.choice((0, 51))
            argument = f"(limit: {self.value('Int!', limit)})" if rnd.random() < 0.8 else ""
            parts.append(
                f"recentActivity{argument}{self.condition()} {{ kind at summary __typename }}"
            )
        if rnd.random() < 0.08:
            parts.append(rnd.choice(DASHBOARD_HANDED_OVER))
        return self.wrap("Dashboard", parts)


def roots_operation(
    rnd: random.Random, cursors: list[str], nested_cursors: list[str], credential_ids: list[str]
) -> Operation:
    builder = RootsBuilder(rnd, cursors, credential_ids, nested_cursors=nested_cursors)
    roots: list[str] = []
    choice = rnd.random()
    if choice < 0.45 or choice >= 0.9:
        key = builder.alias("dashboard")
        roots.append(f"{key}{builder.condition()} {{ {builder.dashboard()} }}")
    if choice >= 0.45:
        key = builder.alias("credentials")
        roots.append(f"{key} {{ {builder.credential(nested=True)} }}")
    if rnd.random() < 0.1:
        node = " ".join(NODE_FIELDS[:3])
        roots.append(
            f"resources(first: 2) {{ edges {{ node {{ {node} }} }} pageInfo {{ {PAGE_INFO[0]} }} }}"
        )
    if rnd.random() < 0.05:
        roots.append("__typename")
    if rnd.random() < 0.03:
        roots.append("me { email }")
    header = f"query({', '.join(builder.definitions)})" if builder.definitions else "query"
    query = f"{header} {{ {' '.join(roots)} }} {' '.join(builder.fragments)}".strip()
    return Operation(query, builder.variables)
