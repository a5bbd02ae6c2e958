"""Evaluating rules over resources in memory: no database, so a scope is checked in one pass."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.findings.rules import Subject, rules_for
from sync.findings.rules.base import Details

logger = logging.getLogger("stratograph.findings")

FindingKey = tuple[uuid.UUID, str]  # (resource row id, rule id)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A resource to evaluate, as read from the inventory."""

    row_id: uuid.UUID
    resource_id: str
    native_type: str
    configuration: Mapping[str, Any]


@dataclass
class Evaluation:
    # (resource, rule) pairs whose rule failed, with what made it fail.
    failing: dict[FindingKey, Details] = field(default_factory=dict)
    # Pairs whose check could not run on the stored shape: their findings are left as they are.
    undecided: set[FindingKey] = field(default_factory=set)


def evaluate(
    candidates: Iterable[Candidate],
    related: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    only: Callable[[str], bool] | None = None,
) -> Evaluation:
    """Run every applicable rule (or those whose id `only` keeps) on each candidate.

    `related` maps a candidate's native id to the configurations of the resources its
    relation-based rules read."""
    result = Evaluation()
    for candidate in candidates:
        for rule in rules_for(candidate.native_type):
            if only is not None and not only(rule.id):
                continue
            key = (candidate.row_id, rule.id)
            others = tuple(related.get(candidate.resource_id, ())) if rule.related else ()
            subject = Subject(candidate.native_type, candidate.configuration, others)
            try:
                details = rule.check(subject)
            except Exception as error:
                # Only the rule and the error's type: configuration values stay out of logs.
                logger.warning("rule %s could not evaluate: %s", rule.id, type(error).__name__)
                result.undecided.add(key)
                continue
            if details is not None:
                result.failing[key] = details
    return result
