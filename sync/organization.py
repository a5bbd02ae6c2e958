"""Organization-wide syncs: a credential covering several cloud accounts is synced as one job
split into one part per account. The worker that claims the job discovers the accounts
(`accounts()`), records every one with its status, and queues a part per ACTIVE account; any
worker then claims parts (`sync/parts.py`), plans and lists that account, and the part that
closes last finishes the job: final status, the credential's health, the SYNC_FINISHED event.

An account that could not be planned (not ACTIVE, or `plan_account` raised) keeps its inventory:
nothing of it is marked deleted until it is listed again.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.enums import AccountStatus, SyncJobStatus
from db.models import CloudCredentialRow, SyncJobRow
from db.types import utcnow
from providers.base import CloudAccountInfo, MultiAccountInventory, Scope
from sync import accounts, jobs, part_recovery, parts
from sync.credential_health import record_sync_health
from sync.deadline import Deadline
from sync.dropped_scopes import retire_unplanned_scopes
from sync.job_progress import PartProgress
from sync.tally import Tally, log_failure, safe_error

if TYPE_CHECKING:
    from sync.engine import SyncEngine

logger = logging.getLogger("stratograph.sync")

NOT_LISTABLE = {
    AccountStatus.SUSPENDED: "The account is suspended; its inventory is kept as last seen.",
    AccountStatus.UNREACHABLE: "The account could not be reached; its inventory is kept.",
    AccountStatus.ACCESS_DENIED: "Access to the account was denied; its inventory is kept.",
}


def account_error(account: CloudAccountInfo) -> dict[str, str]:
    """The job error of an account discovery reported as not listable."""
    scope = f"{account.account_id}:*"
    if account.error is not None:
        return safe_error(scope, account.error)
    return {"scope": scope, "code": account.status.value, "message": NOT_LISTABLE[account.status]}


class Organization:
    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine
        self.database = engine.database

    async def split(
        self,
        credential: CloudCredentialRow,
        inventory: MultiAccountInventory,
        job_id: uuid.UUID,
        worker_id: str,
    ) -> SyncJobStatus:
        """Discover the accounts and queue their parts; RUNNING once the parts are queued."""
        engine = self.engine
        started = time.perf_counter()
        try:
            planning = Deadline(engine.options.scope_timeout_seconds, "discovering the accounts")
            found: list[CloudAccountInfo] = await planning.run(
                engine.scopes.retrying(inventory.accounts)
            )
        except Exception as error:
            return await engine.fail_before_listing(
                credential, job_id, worker_id, error, _elapsed_ms(started)
            )
        response_ms = _elapsed_ms(started)
        active = [a for a in found if a.status == AccountStatus.ACTIVE]
        errors = [account_error(a) for a in found if a.status != AccountStatus.ACTIVE]
        async with self.database.system_session() as session:
            await accounts.record_discovered(session, credential, found, utcnow())
            if active:
                await parts.split(session, job_id, worker_id, credential.user_id, active, errors)
                # The discovery call is this sync's measure of the credential's response time;
                # the last part shows it with the job's health.
                await session.execute(
                    update(CloudCredentialRow)
                    .where(CloudCredentialRow.id == credential.id)
                    .values(
                        health_response_ms=response_ms,
                        updated_at=CloudCredentialRow.updated_at,
                    )
                    .execution_options(synchronize_session=False)
                )
        if not active:
            # Nothing to list: the job ends here (FAILED when every account was refused).
            tally = Tally(total=0, errors=errors, response_ms=response_ms)
            status = SyncJobStatus.FAILED if errors else SyncJobStatus.SUCCEEDED
            await engine.finish(credential, job_id, worker_id, status, tally)
            return status
        logger.info("sync job %s split into %d account parts", job_id, len(active))
        engine.hub.publish(job_id)
        return SyncJobStatus.RUNNING

    async def run_part(self, lease: parts.PartLease) -> SyncJobStatus:
        engine = self.engine
        credential = await engine.credential_of(lease.job_id)
        if credential is None:
            return SyncJobStatus.FAILED
        tally = Tally(total=0)
        account = CloudAccountInfo(lease.account_id, lease.account_name)
        try:
            inventory = await engine.open_inventory(credential)
        except Exception as error:
            return await self._close(credential, lease, tally, None, plan_error=error)
        try:
            multi = inventory if isinstance(inventory, MultiAccountInventory) else None
            try:
                if multi is None:
                    raise TypeError("the credential no longer covers several accounts")
                planning = Deadline(engine.options.scope_timeout_seconds, "planning the account")
                scopes: list[Scope] = await planning.run(
                    engine.scopes.retrying(lambda: multi.plan_account(account))
                )
            except Exception as error:
                return await self._close(credential, lease, tally, None, plan_error=error)
            tally.total = len(scopes)
            async with self.database.system_session() as session:
                await parts.planned(session, lease, len(scopes))
            await engine.scopes.run(
                credential, inventory, scopes, PartProgress(lease), tally, share=lease.weight
            )
            return await self._close(credential, lease, tally, scopes)
        finally:
            await engine.close_inventory(inventory)

    async def _close(
        self,
        credential: CloudCredentialRow,
        lease: parts.PartLease,
        tally: Tally,
        scopes: list[Scope] | None,
        *,
        plan_error: BaseException | None = None,
    ) -> SyncJobStatus:
        """End the part in one transaction: retire the scopes that left this account's plan
        (only when it was planned), record the account's outcome, and finish the job when this
        was its last open part."""
        at = utcnow()
        if plan_error is not None:
            log_failure(plan_error, f"account {lease.account_id}")
            tally.errors.append(safe_error(f"{lease.prefix}*", plan_error))
        status = tally.outcome()
        async with self.database.system_session() as session:
            if scopes is not None:
                removed = await retire_unplanned_scopes(
                    session, credential, scopes, at, job_id=lease.job_id, account=lease.account_id
                )
                if removed:
                    await parts.add_progress(session, lease, step=0.0, removed=removed)
                    tally.removed += removed
            await accounts.record_outcome(
                session,
                credential.id,
                lease.account_id,
                status=(
                    accounts.status_of_failure(plan_error)
                    if plan_error is not None
                    else AccountStatus.ACTIVE
                ),
                error=tally.errors[0] if tally.errors else None,
                synced_at=at if tally.succeeded else None,
            )
            await accounts.refresh_counts(session, credential.id, lease.account_id)
            last = await parts.close(session, lease, status, tally.errors, tally.warnings)
            finished = await self._finish_job(session, credential, lease) if last else None
        self.engine.hub.publish(lease.job_id)
        if finished is not None:
            self.engine.observe_finished(lease.job_id, *finished)
        return status

    async def close_lost_part(self, lease: parts.PartLease) -> None:
        """A part whose workers kept dying is given up: it fails, its account keeps its
        inventory, and the job finishes if it was the last part."""
        credential = await self.engine.credential_of(lease.job_id)
        if credential is None:
            return
        lost = part_recovery.worker_lost(lease)
        async with self.database.system_session() as session:
            await accounts.record_outcome(
                session, credential.id, lease.account_id, status=AccountStatus.UNREACHABLE,
                error=lost, synced_at=None,
            )  # fmt: skip
            last = await parts.close(session, lease, SyncJobStatus.FAILED, [lost], [])
            finished = await self._finish_job(session, credential, lease) if last else None
        self.engine.hub.publish(lease.job_id)
        if finished is not None:
            self.engine.observe_finished(lease.job_id, *finished)

    async def _finish_job(
        self, session: AsyncSession, credential: CloudCredentialRow, lease: parts.PartLease
    ) -> tuple[SyncJobStatus, Tally]:
        row = (
            await session.execute(
                select(
                    SyncJobRow.errors,
                    SyncJobRow.warnings,
                    SyncJobRow.added,
                    SyncJobRow.updated,
                    SyncJobRow.removed,
                ).where(SyncJobRow.id == lease.job_id)
            )
        ).one()
        errors: list[dict[str, Any]] = list(row.errors or [])
        succeeded = await parts.scopes_succeeded(session, lease.job_id)
        summary = Tally(
            total=0,
            succeeded=succeeded,
            added=row.added,
            updated=row.updated,
            removed=row.removed,
            errors=errors,
            warnings=list(row.warnings or []),
        )
        status = summary.outcome()
        response_ms = await session.scalar(
            select(CloudCredentialRow.health_response_ms).where(
                CloudCredentialRow.id == credential.id
            )
        )
        await jobs.finish_split(session, lease.job_id, lease.worker_id, status)
        await record_sync_health(
            session, credential.id, status, errors, response_ms=response_ms, at=utcnow()
        )
        return status, summary


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
