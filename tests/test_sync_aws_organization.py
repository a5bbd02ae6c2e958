"""An AWS Organization through a member role, synced account by account by the engine's parts:
every member's resources with their account, every account recorded, and an account that joins
later appears on the next sync (moto organization of three members; both databases)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from db.models import SyncJobPartRow
from graph.node import from_global_id
from tests.standins.aws_org import MANAGEMENT_ROLE, MEMBER_ROLE, ORG_REGIONS, AwsOrganization
from tests.test_sync_aws_role import add_role, serve
from tests.test_sync_end_to_end import Served

pytestmark = pytest.mark.usefixtures("server_identity")
__all__ = ["serve"]  # the served app of the end-to-end tests, as a fixture here

ACCOUNTS = "query { credentials { accounts { accountId status resourceCount error } } }"


async def test_an_organization_is_synced_per_account_and_a_new_account_appears_next_time(
    serve: Any, aws_org: AwsOrganization
) -> None:
    # given a role credential covering the moto organization of three member accounts
    served: Served = await serve(aws=aws_org)
    credential, call = await add_role(
        served, MANAGEMENT_ROLE, memberRoleName=MEMBER_ROLE, regions=list(ORG_REGIONS)
    )
    assert len(aws_org.members) == 3

    # when the user syncs it
    states = await served.sync_and_follow(credential, call.token)

    # then every account's instances are stored, each row with its account
    assert states[-1]["status"] == "SUCCEEDED", states[-1]["errors"]
    assert instances_by_account(await served.inventory(credential)) == expected(aws_org)
    # and the job was split into one part per account of the organization
    job_id = from_global_id(states[-1]["id"])[1]
    async with served.runtime.database.system_session() as session:
        parted = (
            await session.scalars(
                select(SyncJobPartRow.account_id).where(SyncJobPartRow.job_id == job_id)
            )
        ).all()
    assert set(aws_org.members) <= set(parted)
    # and every account is shown, ACTIVE, with its resources counted
    (listed,) = (await call(ACCOUNTS))["credentials"]
    shown = {a["accountId"]: a for a in listed["accounts"]}
    assert set(aws_org.members) <= set(shown)
    assert all(
        shown[m]["status"] == "ACTIVE" and shown[m]["resourceCount"] > 0 for m in aws_org.members
    )

    # when a fourth account joins the organization, and the next sync runs
    fourth = aws_org.add_member("member4")
    again = await served.sync_and_follow(credential, call.token)

    # then its resources and its account appear
    assert again[-1]["status"] == "SUCCEEDED", again[-1]["errors"]
    assert instances_by_account(await served.inventory(credential)) == expected(aws_org)
    (listed,) = (await call(ACCOUNTS))["credentials"]
    assert fourth in {a["accountId"] for a in listed["accounts"]}


def instances_by_account(rows: list[Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in rows:
        if row.native_type == "AWS::EC2::Instance" and row.deleted_at is None:
            found.setdefault(row.account, []).append(row.name)
    return {account: sorted(names) for account, names in found.items()}


def expected(org: AwsOrganization) -> dict[str, list[str]]:
    return {account: sorted(names) for account, names in org.instances.items()}
