"""What one run over a list of scopes has done so far: counts, errors, warnings, the outcome."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from db.enums import SyncJobStatus
from providers.base import ProviderError
from sync.report import IngestReport

logger = logging.getLogger("stratograph.sync")

PLAN_SCOPE = "*"
INTERNAL_MESSAGE = "Unexpected error in the sync engine; the operators have the details."


def safe_error(scope: str, error: BaseException) -> dict[str, str]:
    """The only shape an error takes on a job: ProviderError messages are safe by contract;
    anything else is reduced to a generic message (its text could carry anything)."""
    if isinstance(error, ProviderError):
        return {"scope": scope, "code": error.code[:64], "message": error.message[:500]}
    return {"scope": scope, "code": "INTERNAL", "message": INTERNAL_MESSAGE}


def log_failure(error: BaseException, where: str) -> None:
    if isinstance(error, ProviderError):
        logger.warning("sync %s failed: %s %s", where, error.code, error.message)
    else:
        # Only the type: an SDK exception's text is not guaranteed to be free of secrets.
        logger.error("sync %s failed unexpectedly: %s", where, type(error).__name__)


@dataclass
class Written:
    """What a streamed scope has committed so far (kept on the job even if the stream fails)."""

    added: int = 0
    updated: int = 0


@dataclass
class Tally:
    total: int
    done: int = 0
    succeeded: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    # How long planning (the sync's first cloud call) took: the credential's response time.
    response_ms: int | None = None
    # The cloud accounts the listed records belong to (a credential of one account).
    accounts: set[str] = field(default_factory=set)

    def values(self) -> dict[str, Any]:
        return {
            "progress": self.done / self.total if self.total else 1.0,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        }

    def reported(self, key: str, report: IngestReport) -> None:
        """What normalizing the scope changed (warnings) and skipped (errors: the job is
        PARTIAL, since the inventory lacks those resources)."""
        self.warnings.extend(report.warnings(key))
        self.errors.extend(report.errors(key))
        if report.counts:
            logger.warning("sync %s normalized its listing: %s", key, report.summary())

    def outcome(self) -> SyncJobStatus:
        if not self.errors:
            return SyncJobStatus.SUCCEEDED
        return SyncJobStatus.PARTIAL if self.succeeded else SyncJobStatus.FAILED
