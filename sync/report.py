"""What normalizing one scope's listing changed or skipped, as a job shows it.

Only codes, counts and (normalized) resource ids are kept: never a value from a record, so a job
record and a log line can never carry what a hostile tag held.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from providers.sanitize import INVALID_RECORD

SAMPLE_IDS = 5  # resource ids named per (scope, code) on the job
MAX_SKIPPED_LISTED = 20  # skipped records listed one by one per scope; the rest are counted
SHOWN_ID = 200  # characters of a resource id a job shows


def shown(resource_id: str | None) -> str | None:
    if resource_id is None or len(resource_id) <= SHOWN_ID:
        return resource_id
    return resource_id[: SHOWN_ID - 1] + "…"


@dataclass
class IngestReport:
    counts: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[tuple[str | None, str]] = field(default_factory=list)

    def changed(self, code: str, resource_id: str) -> None:
        self.counts[code] += 1
        sample = self.samples.setdefault(code, [])
        if len(sample) < SAMPLE_IDS and resource_id not in sample:
            sample.append(resource_id)

    def skip(self, resource_id: str | None, reason: str) -> None:
        self.counts[INVALID_RECORD] += 1
        if resource_id is not None:
            sample = self.samples.setdefault(INVALID_RECORD, [])
            if len(sample) < SAMPLE_IDS:
                sample.append(resource_id)
        if len(self.skipped) < MAX_SKIPPED_LISTED:
            self.skipped.append((resource_id, reason))

    def warnings(self, scope: str) -> list[dict[str, Any]]:
        return [
            {
                "scope": scope,
                "code": code,
                "count": count,
                "resourceIds": [i for i in map(shown, self.samples.get(code, [])) if i],
            }
            for code, count in sorted(self.counts.items())
        ]

    def errors(self, scope: str) -> list[dict[str, Any]]:
        listed = [
            {"scope": scope, "code": INVALID_RECORD, "message": reason, "resourceId": shown(i)}
            for i, reason in self.skipped
        ]
        more = self.counts[INVALID_RECORD] - len(listed)
        if more > 0:
            listed.append(
                {
                    "scope": scope,
                    "code": INVALID_RECORD,
                    "message": f"{more} more resources of this scope could not be stored.",
                    "resourceId": None,
                }
            )
        return listed

    def summary(self) -> str:
        """Codes and counts only, for the log."""
        return ", ".join(f"{code}={count}" for code, count in sorted(self.counts.items()))
