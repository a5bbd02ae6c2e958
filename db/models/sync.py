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
    """The last listing outcome of one (credential, region, resource kind)."""

    __tablename__ = "sync_scopes"
    __table_args__ = (UniqueConstraint("credential_id", "region", "kind"),)

    user_id: Mapped[uuid.UUID] = owner_column()
    credential_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cloud_credentials.id", ondelete="CASCADE")
    )
    region: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(128))
    last_job_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    last_completed_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    resource_count: Mapped[int] = mapped_column(default=0)
