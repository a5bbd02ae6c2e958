"""What a rule is: a small declarative unit the engine evaluates and the docs are generated from.

A rule's `check` reads a `Subject` (one resource's normalized configuration, plus the
configurations of the resources it is related to when the rule says which) and returns the
details of the failure, or None when the resource passes. Checks are pure: they never read the
database, so the engine can evaluate a whole scope in memory and batch the writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from db.enums import Provider, RelationType, Severity

Details = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Compliance:
    """A control of a compliance framework the rule checks (part of it, or all of it)."""

    framework: str
    control: str


@dataclass(frozen=True, slots=True)
class Related:
    """The resources a relation-based rule also reads: the targets of `relation` of this type."""

    relation: RelationType
    native_type: str
    # A configuration key the resource itself must have set (not null, not false) for the rule
    # to be able to fail: when only the related side changed, other resources are not read.
    requires: str | None = None


@dataclass(frozen=True, slots=True)
class Subject:
    native_type: str
    configuration: Mapping[str, Any]
    # Configurations of the related resources in the inventory (rules with `related` only).
    related: tuple[Mapping[str, Any], ...] = ()


Check = Callable[[Subject], Details | None]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: Severity
    provider: Provider
    native_types: tuple[str, ...]
    check: Check = field(repr=False)
    description: str
    remediation: str
    references: tuple[str, ...] = ()
    compliance: tuple[Compliance, ...] = ()
    related: Related | None = None


def setting(config: Mapping[str, Any], key: str) -> Any:
    """A configuration value; kinds written before a key existed simply lack it."""
    return config.get(key)


def failing(**details: Any) -> Details:
    return dict(details)
