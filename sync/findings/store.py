"""Writing findings in a completed scope's transaction: open, keep, resolve, reopen.

Called by `sync.store.complete_scope` after the scope's upsert, stale marking and relations, in
the same transaction, so findings never disagree with the inventory and a failed listing (which
never reaches that transaction) resolves nothing. Two passes:

- the scope's own resources: every rule of their kinds; a finding of a resource that is gone
  (stale-marked) or whose rule now passes resolves;
- resources of other scopes whose relation-based rules read this scope's resources (instances
  PROTECTED_BY this scope's security groups): only those rules are re-evaluated.

Every transition is a conditional UPDATE (or an INSERT … ON CONFLICT DO NOTHING) with RETURNING,
so two scopes re-evaluating the same finding concurrently count its change once; the open counts
(`finding_counts`) and webhook deliveries follow the rows actually changed.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.enums import FindingStatus
from db.models import CloudCredentialRow, CloudResourceRow, FindingRow, ResourceRelationRow
from providers.base import Scope
from sync.findings import lifecycle
from sync.findings.evaluate import Candidate, Evaluation, evaluate
from sync.findings.rules import BY_RELATED_TYPE, BY_TYPE, RULES, Related, rules_for
from sync.scope_changes import Upserted

_RULE_TYPES = frozenset(BY_TYPE)
BATCH = 1000
_RELATED_SPECS = frozenset(rule.related for rule in RULES if rule.related is not None)
# Kinds on either side of a relation-based rule (instances and their security groups).
_RELATION_TYPES = frozenset(BY_RELATED_TYPE) | frozenset(
    native_type.lower() for rule in RULES if rule.related for native_type in rule.native_types
)
_CANDIDATE_COLUMNS = (
    CloudResourceRow.id,
    CloudResourceRow.resource_id,
    CloudResourceRow.native_type,
    CloudResourceRow.configuration,
)


def _may_hold(scope: Scope, types: frozenset[str]) -> bool:
    """Whether the scope's listing can contain a resource of one of `types` (lower-cased)."""
    if scope.all_types_except is not None:
        return True
    return any(kind.lower() in types for kind in scope.owned_types)


async def _serialize_relation_scopes(session: AsyncSession, credential_id: uuid.UUID) -> None:
    """On PostgreSQL, let one scope transaction of the credential at a time evaluate
    relation-based rules: the instances' scope and the groups' scope run concurrently, and
    under READ COMMITTED each would otherwise miss the other's uncommitted side, so an instance
    exposed by a group listed in the same sync would only be found by the next one. The lock is
    the transaction's (released at its commit); once it is held, every later statement sees
    what the other scope committed. SQLite runs one writing transaction at a time anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(credential_id.bytes[:8], "big", signed=True)
    await session.execute(select(func.pg_advisory_xact_lock(key)))


def _candidates(rows: Iterable[Any]) -> list[Candidate]:
    """One candidate per resource (a resource related to several of the scope's resources
    comes back once per relation)."""
    unique = {
        r.id: Candidate(r.id, r.resource_id, r.native_type, r.configuration or {}) for r in rows
    }
    return list(unique.values())


async def evaluate_scope(
    session: AsyncSession,
    credential: CloudCredentialRow,
    scope: Scope,
    *,
    seen_at: datetime,
    upserted: Upserted | None = None,
    had_rows: bool = True,
) -> lifecycle.Changes:
    """Evaluate the completed scope's resources, and the resources whose relation-based rules
    read them; write the findings' transitions. Returns what changed.

    `upserted`: the scope's live rows as this transaction wrote them (its whole listing), so
    they are not read back; `had_rows` False: the scope held no live row when the job started,
    so no finding of a resource gone from it can be left to resolve."""
    changes = lifecycle.Changes()
    if _may_hold(scope, _RELATION_TYPES):
        await _serialize_relation_scopes(session, credential.id)
    if _may_hold(scope, _RULE_TYPES):
        await own_pass(session, credential, scope.key, seen_at, changes, upserted, had_rows)
    if _may_hold(scope, frozenset(BY_RELATED_TYPE)):
        await dependent_pass(session, credential, scope.key, seen_at, changes)
    await lifecycle.publish(session, credential, changes, seen_at)
    return changes


async def resolve_retired_scope(
    session: AsyncSession, credential: CloudCredentialRow, key: str, *, at: datetime
) -> lifecycle.Changes:
    """A scope left the plan and its rows were just marked deleted: its findings resolve (the
    own pass finds no live resource left to fail)."""
    changes = lifecycle.Changes()
    await own_pass(session, credential, key, at, changes)
    await lifecycle.publish(session, credential, changes, at)
    return changes


async def _stored_batches(
    session: AsyncSession, credential: CloudCredentialRow, key: str
) -> AsyncIterator[list[Candidate]]:
    """The scope's live resources of kinds a rule reads, BATCH at a time (keyset on the row
    id), so memory follows the batch, not the scope, like the streamed listing itself."""
    after: uuid.UUID | None = None
    while True:
        statement = select(*_CANDIDATE_COLUMNS).where(
            CloudResourceRow.credential_id == credential.id,
            CloudResourceRow.scope == key,
            CloudResourceRow.deleted_at.is_(None),
            func.lower(CloudResourceRow.native_type).in_(sorted(_RULE_TYPES)),
        )
        if after is not None:
            statement = statement.where(CloudResourceRow.id > after)
        rows = (await session.execute(statement.order_by(CloudResourceRow.id).limit(BATCH))).all()
        if not rows:
            return
        after = rows[-1].id
        yield _candidates(rows)
        if len(rows) < BATCH:
            return


async def _written_batches(upserted: Upserted) -> AsyncIterator[list[Candidate]]:
    ruled = [c for c in upserted.candidates if c.native_type.lower() in _RULE_TYPES]
    for start in range(0, len(ruled), BATCH):
        yield ruled[start : start + BATCH]


async def own_pass(
    session: AsyncSession,
    credential: CloudCredentialRow,
    key: str,
    seen_at: datetime,
    changes: lifecycle.Changes,
    upserted: Upserted | None = None,
    had_rows: bool = True,
) -> None:
    """Every rule of the scope's live resources (read back, or as `upserted` wrote them); every
    finding of the scope's resources that is not failing any more resolves (those of
    stale-marked resources included)."""
    batches = _stored_batches(session, credential, key) if upserted is None else (
        _written_batches(upserted)
    )  # fmt: skip
    created = upserted.created if upserted is not None else frozenset()
    async for candidates in batches:
        reads_related = any(rule.related for c in candidates for rule in rules_for(c.native_type))
        related: dict[str, list[Any]] = {}
        if reads_related:
            sources = ResourceRelationRow.source_resource_id.in_(
                [c.resource_id for c in candidates]
            )
            for spec in _RELATED_SPECS:
                related.update(await _related(session, credential.id, spec, sources))
        # A row this transaction created has no finding yet.
        fresh = {c.row_id for c in candidates if c.resource_id in created}
        stored_ids = [c.row_id for c in candidates if c.row_id not in fresh]
        existing = await lifecycle.existing(
            session,
            select(*lifecycle.FINDING_COLUMNS).where(FindingRow.resource_row_id.in_(stored_ids)),
        ) if stored_ids else {}  # fmt: skip
        await lifecycle.apply(session, credential, evaluate(candidates, related), existing,
                              seen_at, changes, fresh)  # fmt: skip
    if not had_rows:
        return
    # Findings of the scope's resources that are gone (or of kinds no rule reads any more).
    gone = await lifecycle.existing(
        session,
        select(*lifecycle.FINDING_COLUMNS)
        .select_from(FindingRow)
        .join(CloudResourceRow, CloudResourceRow.id == FindingRow.resource_row_id)
        .where(
            CloudResourceRow.credential_id == credential.id,
            CloudResourceRow.scope == key,
            FindingRow.status != FindingStatus.RESOLVED,
            or_(
                CloudResourceRow.deleted_at.is_not(None),
                func.lower(CloudResourceRow.native_type).not_in(sorted(_RULE_TYPES)),
            ),
        ),
    )
    if gone:
        await lifecycle.apply(session, credential, Evaluation(), gone, seen_at, changes)


async def dependent_pass(
    session: AsyncSession,
    credential: CloudCredentialRow,
    key: str,
    seen_at: datetime,
    changes: lifecycle.Changes,
) -> None:
    """Relation-based rules of resources (of any scope) related to this scope's resources."""
    for spec in _RELATED_SPECS:
        target = aliased(CloudResourceRow)
        source = aliased(CloudResourceRow)
        relation = ResourceRelationRow
        statement = (
            select(source.id, source.resource_id, source.native_type, source.configuration)
            .select_from(relation)
            .join(
                target,
                and_(
                    target.credential_id == relation.credential_id,
                    target.resource_id == relation.target_resource_id,
                ),
            )
            .join(
                source,
                and_(
                    source.credential_id == relation.credential_id,
                    source.resource_id == relation.source_resource_id,
                ),
            )
            .where(
                relation.credential_id == credential.id,
                relation.type == spec.relation,
                target.scope == key,
                source.deleted_at.is_(None),
                source.scope != key,
            )
        )
        if spec.requires is not None:
            # A resource without it passes whatever its related side says, and its own scope
            # resolves a finding it had when that scope completes.
            statement = statement.where(
                source.configuration[spec.requires].as_string().is_not(None)
            )
        candidates = _candidates(await session.execute(statement))
        if not candidates:
            continue
        ids = [c.resource_id for c in candidates]
        related = await _related(session, credential.id, spec, relation.source_resource_id.in_(ids))
        rule_ids = frozenset(rule.id for rule in RULES if rule.related == spec)
        evaluation = evaluate(candidates, related, only=rule_ids.__contains__)
        existing = await lifecycle.existing(
            session,
            select(*lifecycle.FINDING_COLUMNS).where(
                FindingRow.resource_row_id.in_([c.row_id for c in candidates]),
                FindingRow.rule_id.in_(sorted(rule_ids)),
            ),
        )
        await lifecycle.apply(session, credential, evaluation, existing, seen_at, changes)


async def _related(
    session: AsyncSession, credential_id: uuid.UUID, spec: Related, condition: Any
) -> dict[str, list[Any]]:
    """Source native id → configurations of its live `spec` targets in the inventory.

    Pairs first, then each target's configuration once (many instances share a few groups)."""
    statement: Any = (
        select(ResourceRelationRow.source_resource_id, CloudResourceRow.id)
        .join(
            CloudResourceRow,
            and_(
                CloudResourceRow.credential_id == ResourceRelationRow.credential_id,
                CloudResourceRow.resource_id == ResourceRelationRow.target_resource_id,
            ),
        )
        .where(
            ResourceRelationRow.credential_id == credential_id,
            ResourceRelationRow.type == spec.relation,
            CloudResourceRow.native_type == spec.native_type,
            CloudResourceRow.deleted_at.is_(None),
            condition,
        )
    )
    pairs = (await session.execute(statement)).all()
    if not pairs:
        return {}
    targets = sorted({target for _, target in pairs})
    configurations: dict[uuid.UUID, Any] = dict(
        (
            await session.execute(
                select(CloudResourceRow.id, CloudResourceRow.configuration).where(
                    CloudResourceRow.id.in_(targets)
                )
            )
        ).all()
    )
    related: dict[str, list[Any]] = {}
    for source, target in pairs:
        related.setdefault(source, []).append(configurations.get(target) or {})
    return related
