"""The rule catalogue: every rule of every cloud, and the indexes the engine evaluates with."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from db.enums import Severity
from sync.findings.rules import aws, azure, gcp
from sync.findings.rules.base import Compliance, Related, Rule, Subject

RULES: tuple[Rule, ...] = (*aws.RULES, *azure.RULES, *gcp.RULES)
BY_ID: Mapping[str, Rule] = {rule.id: rule for rule in RULES}
SEVERITY_RANK: Mapping[Severity, int] = {severity: rank for rank, severity in enumerate(Severity)}


def _by_type() -> dict[str, tuple[Rule, ...]]:
    found: defaultdict[str, list[Rule]] = defaultdict(list)
    for rule in RULES:
        for native_type in rule.native_types:
            found[native_type.lower()].append(rule)
    return {key: tuple(rules) for key, rules in found.items()}


# Lower-cased native type → its rules (ARM types are case-insensitive).
BY_TYPE: Mapping[str, tuple[Rule, ...]] = _by_type()
# Lower-cased native type of a relation's target → the rules that read it.
BY_RELATED_TYPE: Mapping[str, tuple[Rule, ...]] = {
    target: tuple(r for r in RULES if r.related and r.related.native_type.lower() == target)
    for target in {r.related.native_type.lower() for r in RULES if r.related}
}
FRAMEWORKS: Mapping[str, frozenset[str]] = {
    framework: frozenset(c.control for r in RULES for c in r.compliance if c.framework == framework)
    for framework in sorted({c.framework for r in RULES for c in r.compliance})
}


def rules_for(native_type: str) -> tuple[Rule, ...]:
    return BY_TYPE.get(native_type.lower(), ())


def _unique_ids() -> None:
    if len(BY_ID) != len(RULES):
        raise RuntimeError("two rules of the catalogue share an id")


_unique_ids()

__all__ = [
    "BY_ID",
    "BY_RELATED_TYPE",
    "BY_TYPE",
    "FRAMEWORKS",
    "RULES",
    "SEVERITY_RANK",
    "Compliance",
    "Related",
    "Rule",
    "Subject",
    "rules_for",
]
