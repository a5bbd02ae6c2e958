"""No change record carries a secret: not the credential's, not one the cloud's APIs return,
not the engine's bookkeeping in `metadata`, even when the secret-bearing resources change
(both databases)."""

from __future__ import annotations

import json

from sqlalchemy import text

from db.enums import SyncJobStatus
from tests.standins.aws import PRIMARY_SECRET, MotoServer
from tests.standins.aws_every_kind import REGION
from tests.test_inventory_relations import Synced, settings, synced
from tests.test_no_secret_leaks import SECRET_FIELD

__all__ = ["settings", "synced"]


async def test_change_records_never_carry_a_secret(synced: Synced, moto_server: MotoServer) -> None:
    # given a synced cloud of every kind, whose function, database, login and access keys
    # then get new secrets (and the function a new tag and memory size, so it changes)
    made = synced.made
    lambda_client = moto_server.client("lambda", REGION)
    lambda_client.update_function_configuration(
        FunctionName="kinds-fn",
        MemorySize=512,
        Environment={"Variables": {"DATABASE_PASSWORD": "rotated-lambda-secret-2c1d"}},
    )
    lambda_client.tag_resource(Resource=made.ids["function"], Tags={"team": "data"})
    iam = moto_server.client("iam", REGION)
    iam.update_login_profile(UserName="alice", Password="Rotated-Console-Password-3e!")
    rotated_key = iam.create_access_key(UserName="alice")["AccessKey"]
    moto_server.client("rds", REGION).modify_db_cluster(
        DBClusterIdentifier="kinds-aurora", MasterUserPassword="rotated-cluster-password-8f"
    )
    secrets = [
        *made.secrets,
        "standin-password",
        "rotated-lambda-secret-2c1d",
        "Rotated-Console-Password-3e!",
        "rotated-cluster-password-8f",
        rotated_key["SecretAccessKey"],
        PRIMARY_SECRET.secret_access_key,
    ]
    # when it is synced again
    assert await synced.sync() == SyncJobStatus.SUCCEEDED
    # then there are change records beyond the first sync's
    async with synced.runtime.database.system_session() as session:
        rows = (await session.execute(text("SELECT kind, changes FROM resource_changes"))).all()
    kinds = {str(row[0]) for row in rows}
    assert {"CREATED", "UPDATED"} <= kinds
    dumped = repr([tuple(row) for row in rows])
    # and none holds a secret, a field named like one, or the engine's `_scope` stamp
    for secret in secrets:
        assert secret not in dumped, secret
    assert "DATABASE_PASSWORD" not in dumped
    assert "_scope" not in dumped and "metadata" not in dumped
    for row in rows:
        changes = row[1] if isinstance(row[1], list) else json.loads(row[1])
        for change in changes:
            leaf = change["field"].rsplit(".", 1)[-1]
            assert not SECRET_FIELD.search(leaf) or isinstance(change["after"], bool | int), change
