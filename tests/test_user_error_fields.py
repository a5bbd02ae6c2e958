"""`userErrors.field` is the path of the argument at fault in the operation, `input` first.

Every mutation of the schema is sent input it must refuse, and each error's path is walked
through the schema's input types: a path that names no argument fails the test.
"""

from __future__ import annotations

import uuid
from typing import Any

from graphql import GraphQLInputObjectType, GraphQLInputType, get_named_type

from core.problems import Problem, ProblemCode
from db.enums import Role
from graph.node import to_global_id
from graph.runtime import Runtime
from graph.schema import schema
from graph.user_errors import UserErrorCode, user_errors
from security.passwords import PasswordHasher
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient

UNKNOWN_ID = "Q2xvdWRDcmVkZW50aWFsOm5vcGU"
UNKNOWN_USER_ID = to_global_id("User", uuid.UUID(int=1))
UNKNOWN_WEBHOOK_ID = to_global_id("Webhook", uuid.UUID(int=1))
UNKNOWN_FINDING_ID = to_global_id("Finding", uuid.UUID(int=1))
# Input each mutation must refuse with userErrors (never a top-level error).
REFUSED: dict[str, dict[str, Any]] = {
    "signUp": {"email": "not-an-email", "password": "short", "fullName": " "},
    "logIn": {"email": "nobody@example.com", "password": "Wrong-Password-1"},
    "refreshToken": {"refreshToken": "not-a-token"},
    "logOut": {"refreshToken": "not-a-token", "allSessions": False},
    "changePassword": {"currentPassword": "Wrong-Password-1", "newPassword": "x"},
    "addCredential": {
        "name": " ",
        "defaultRegion": "NOT A REGION",
        "secret": {"aws": {"accessKeyId": "short", "secretAccessKey": "a b"}},
    },
    "updateCredential": {"id": UNKNOWN_ID, "name": " ", "defaultRegion": "NOT A REGION"},
    "deleteCredential": {"id": UNKNOWN_ID},
    "verifyCredential": {"id": UNKNOWN_ID},
    "startSync": {"credentialId": "not-an-id"},
    "completeLogIn": {"mfaToken": "not-a-token", "code": "000000"},
    "confirmTotpSetup": {"code": "000000"},
    "disableTotp": {"currentPassword": "Wrong-Password-1", "code": "000000"},
    "regenerateRecoveryCodes": {"code": "000000"},
    "setUserActive": {"id": UNKNOWN_USER_ID, "active": False},
    "setUserRole": {"id": UNKNOWN_USER_ID, "role": "ADMIN"},
    "resetUserTotp": {"id": UNKNOWN_USER_ID},
    "addWebhook": {"url": "ftp://example.com/hook", "events": [], "description": "x" * 501},
    "updateWebhook": {"id": UNKNOWN_WEBHOOK_ID},
    "deleteWebhook": {"id": UNKNOWN_WEBHOOK_ID},
    "testWebhook": {"id": UNKNOWN_WEBHOOK_ID},
    "suppressFinding": {"id": UNKNOWN_FINDING_ID, "reason": " ", "until": "2000-01-01T00:00:00Z"},
    "unsuppressFinding": {"id": UNKNOWN_FINDING_ID},
}
# Sent by an admin: for anyone else they are refused before they run (FORBIDDEN).
ADMIN_ONLY = frozenset({"setUserActive", "setUserRole", "resetUserTotp"})
# Mutations without arguments have nothing a caller can get wrong.
WITHOUT_INPUT = frozenset({"beginTotpSetup"})


def _mutation_fields() -> dict[str, Any]:
    mutation_type = schema._schema.mutation_type
    assert mutation_type is not None
    return dict(mutation_type.fields)


def _names_an_argument(input_type: GraphQLInputType, path: list[str]) -> bool:
    current: Any = input_type
    for name in path:
        named = get_named_type(current)
        if not isinstance(named, GraphQLInputObjectType) or name not in named.fields:
            return False
        current = named.fields[name].type
    return True


def test_every_mutation_takes_one_input_and_returns_user_errors() -> None:
    for name, field in _mutation_fields().items():
        assert list(field.args) == ([] if name in WITHOUT_INPUT else ["input"]), name
        payload = get_named_type(field.type)
        assert "userErrors" in payload.fields, name


def test_the_walk_below_covers_every_mutation() -> None:
    # a new mutation must be added to REFUSED, so its paths are checked too
    assert sorted(_mutation_fields()) == sorted(set(REFUSED) | WITHOUT_INPUT)


def test_problems_map_to_paths_under_input_and_codes_of_the_same_name() -> None:
    # given problems at a nested argument, at a top one, and of the whole input
    problems = [
        Problem(("secret", "aws", "secretAccessKey"), ProblemCode.REQUIRED, "m1"),
        Problem(("id",), ProblemCode.NOT_FOUND, "m2"),
        Problem(None, ProblemCode.INVALID_CREDENTIALS, "m3"),
    ]
    # when they are mapped
    errors = user_errors(problems)
    # then
    assert [(e.field, e.code, e.message) for e in errors] == [
        (["input", "secret", "aws", "secretAccessKey"], UserErrorCode.REQUIRED, "m1"),
        (["input", "id"], UserErrorCode.NOT_FOUND, "m2"),
        (None, UserErrorCode.INVALID_CREDENTIALS, "m3"),
    ]
    assert {code.name for code in ProblemCode} == {code.name for code in UserErrorCode}


async def test_every_refused_mutation_names_its_arguments_by_their_path_from_input(
    gql: GraphQLClient, runtime: Runtime, fast_passwords: PasswordHasher
) -> None:
    # given a signed-in user, and an admin for the admin-only mutations
    token = access_token(runtime, await create_user(runtime))
    admin_token = access_token(runtime, await create_user(runtime, role=Role.ADMIN))
    fields = _mutation_fields()
    for name, refused in REFUSED.items():
        input_type = fields[name].args["input"].type
        operation = (
            f"mutation Refused($input: {input_type}) "
            f"{{ {name}(input: $input) {{ userErrors {{ field code message }} }} }}"
        )
        # when the mutation is sent input it must refuse
        caller = admin_token if name in ADMIN_ONLY else token
        errors = (await gql(operation, {"input": refused}, token=caller)).ok()[name]["userErrors"]
        # then every error names an argument of the operation, `input` first, or none at all
        assert errors, name
        for error in errors:
            path = error["field"]
            if path is None:
                continue
            assert path[0] == "input", (name, path)
            assert _names_an_argument(input_type, path[1:]), (name, path)
