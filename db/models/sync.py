"""Sync jobs and the per-scope listing status that stale marking relies on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin
from db.enums import SyncJobStatus, SyncTrigger
from db.models.columns import enum_column, owner_column
from db.types import JSONDocument, utcnow


class SyncJobRow(IdMixin, Base):
    __tablename__ = "sync_jobs"
    __table_args__ = (
        Index(None, "user_id", "queued_at"),
        Index(None, "credential_id", "status"),
        Index(None, "status", "heartbeat_at"),
    )

    user_id: Mapped[uuid.UUID] = owner_column()
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cloud_credentials.id", ondelete="CASCADE")
    )
    status: Mapped[SyncJobStatus] = mapped_column(
        enum_column(SyncJobStatus), default=SyncJobStatus.QUEUED
    )
    trigger: Mapped[SyncTrigger] = mapped_column(enum_column(SyncTrigger))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    # Refreshed while running; a stale heartbeat means the worker died and the job is recovered.
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    worker_id: Mapped[str | None] = mapped_column(String(128), default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    progress: Mapped[float] = mapped_column(default=0.0)
    added: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
    # [{"scope": ..., "code": ..., "message": ...}] with safe messages only.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    # [{"scope", "code", "count", "resourceIds"}]: what normalizing the listing changed, by code.
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)


class SyncScopeRow(IdMixin, Base):
    """The last listing outcome of one (credential, account, region, resource kind)."""

    __tablename__ = "sync_scopes"
    __table_args__ = (UniqueConstraint("credential_id", "account", "region", "kind"),)

    user_id: Mapped[uuid.UUID] = owner_column()
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cloud_credentials.id", ondelete="CASCADE")
    )
    # `Scope.account`: empty for a credential of one account.
    account: Mapped[str] = mapped_column(String(128), default="", server_default="")
    region: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(128))
    last_job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    last_completed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    resource_count: Mapped[int] = mapped_column(default=0)


class SyncJobPartRow(IdMixin, Base):
    """One account's share of an organization-wide job, claimable by any worker.

    The job row keeps the one progress figure and the counts; a part has its own lease
    (`worker_id`, `heartbeat_at`), so a dead worker's part is re-queued like a job is."""

    __tablename__ = "sync_job_parts"
    __table_args__ = (
        UniqueConstraint("job_id", "account_id"),
        Index(None, "status", "heartbeat_at"),
    )

    user_id: Mapped[uuid.UUID] = owner_column()
    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sync_jobs.id", ondelete="CASCADE"))
    account_id: Mapped[str] = mapped_column(String(128))
    account_name: Mapped[str] = mapped_column(String(256))
    # The share of the job's progress this part is worth (1 / number of parts).
    weight: Mapped[float] = mapped_column(default=1.0)
    status: Mapped[SyncJobStatus] = mapped_column(
        enum_column(SyncJobStatus), default=SyncJobStatus.QUEUED
    )
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    worker_id: Mapped[str | None] = mapped_column(String(128), default=None)
    attempts: Mapped[int] = mapped_column(default=0)
    # Scopes planned and how many of them completed (the account's outcome at the end).
    scopes: Mapped[int] = mapped_column(default=0)
    succeeded: Mapped[int] = mapped_column(default=0)
    progress: Mapped[float] = mapped_column(default=0.0)
    added: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    removed: Mapped[int] = mapped_column(default=0)
