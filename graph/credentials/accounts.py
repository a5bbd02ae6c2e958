"""`CloudAccount`: one cloud account a credential covers, and how its last sync went."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from db import enums as db_enums
from db.models import CloudAccountRow


@strawberry.enum(description="Whether a cloud account could be listed on its last sync.")
class AccountStatus(Enum):
    ACTIVE = strawberry.enum_value(
        db_enums.AccountStatus.ACTIVE.value, description="Listed (or listable) normally."
    )
    SUSPENDED = strawberry.enum_value(
        db_enums.AccountStatus.SUSPENDED.value,
        description="Suspended or being closed by the cloud; not listed, its inventory is kept.",
    )
    UNREACHABLE = strawberry.enum_value(
        db_enums.AccountStatus.UNREACHABLE.value,
        description="Could not be reached on the last sync; its inventory is kept.",
    )
    ACCESS_DENIED = strawberry.enum_value(
        db_enums.AccountStatus.ACCESS_DENIED.value,
        description="The cloud refused access to it (for example the member role could not be "
        "assumed); its inventory is kept.",
    )


@strawberry.type(
    description="One cloud account a credential covers: an AWS account (of an Organization), an "
    "Azure subscription or a GCP project. A credential of one account has exactly one."
)
class CloudAccount:
    account_id: str = strawberry.field(
        description="The cloud's own id: AWS account number, Azure subscription id, GCP project id."
    )
    name: str = strawberry.field(description="The account's name as the cloud reports it.")
    status: AccountStatus = strawberry.field(description="How its last sync went.")
    last_synced_at: datetime | None = strawberry.field(
        description="When a listing of it last completed; null before the first."
    )
    resource_count: int = strawberry.field(description="Its resources (not deleted).")
    error: str | None = strawberry.field(
        description="Why its last sync could not list it (or part of it), in words safe to show; "
        "null when it was listed completely."
    )

    @classmethod
    def from_row(cls, row: CloudAccountRow) -> CloudAccount:
        return cls(
            account_id=row.account_id,
            name=row.name,
            status=AccountStatus(row.status.value),
            last_synced_at=row.last_synced_at,
            resource_count=row.resource_count,
            error=row.error_message,
        )
