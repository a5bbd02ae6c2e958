"""The GraphQL skeleton: authentication in the context, `me`, `node`, error codes."""

from __future__ import annotations

from graph.node import to_global_id
from graph.runtime import Runtime
from tests.factories import access_token, create_user
from tests.graphql_client import GraphQLClient

ME = "query { me { id email fullName role createdAt } }"
NODE = "query Node($id: ID!) { node(id: $id) { id ... on User { email } } }"


async def test_me_requires_authentication(gql: GraphQLClient) -> None:
    # when an anonymous caller asks for `me`
    response = await gql(ME)
    # then
    assert response.data is None
    assert response.error_codes == ["UNAUTHENTICATED"]


async def test_me_returns_the_token_holder(gql: GraphQLClient, runtime: Runtime) -> None:
    # given
    user = await create_user(runtime, "ada@example.com", full_name="Ada Lovelace")
    # when
    me = (await gql(ME, token=access_token(runtime, user))).ok()["me"]
    # then
    assert me["email"] == "ada@example.com"
    assert me["fullName"] == "Ada Lovelace"
    assert me["role"] == "USER"
    assert me["id"] == to_global_id("User", user.id)


async def test_invalid_or_foreign_tokens_are_anonymous(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    user = await create_user(runtime)
    good = access_token(runtime, user)
    tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    for token in (tampered, "not-a-jwt", good.replace(".", "", 1)):
        response = await gql(ME, token=token)
        assert response.error_codes == ["UNAUTHENTICATED"], token


async def test_inactive_user_token_is_refused(gql: GraphQLClient, runtime: Runtime) -> None:
    user = await create_user(runtime, is_active=False)
    response = await gql(ME, token=access_token(runtime, user))
    assert response.error_codes == ["UNAUTHENTICATED"]


async def test_node_resolves_own_user_and_hides_others(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    # given two users
    alice = await create_user(runtime)
    bob = await create_user(runtime)
    token = access_token(runtime, alice)
    # when alice asks for herself and for bob
    own = (await gql(NODE, {"id": to_global_id("User", alice.id)}, token=token)).ok()
    foreign = (await gql(NODE, {"id": to_global_id("User", bob.id)}, token=token)).ok()
    # then bob is indistinguishable from a missing object
    assert own["node"]["email"] == alice.email
    assert foreign == {"node": None}


async def test_node_with_malformed_id_is_a_bad_request(
    gql: GraphQLClient, runtime: Runtime
) -> None:
    user = await create_user(runtime)
    response = await gql(NODE, {"id": "%%%not-base64"}, token=access_token(runtime, user))
    assert response.error_codes == ["BAD_REQUEST"]


async def test_unexpected_errors_are_masked(gql: GraphQLClient, runtime: Runtime) -> None:
    # given a node resolver that fails with an internal detail in its message
    user = await create_user(runtime)
    token = access_token(runtime, user)

    async def broken(*_: object) -> None:
        raise RuntimeError("secret detail /etc/passwd")

    from graph.accounts.types import User

    original = User.__dict__["resolve_node"]
    setattr(User, "resolve_node", classmethod(broken))  # noqa: B010
    try:
        response = await gql(NODE, {"id": to_global_id("User", user.id)}, token=token)
    finally:
        setattr(User, "resolve_node", original)  # noqa: B010
    # then the client sees a generic, coded error and nothing of the cause
    assert response.error_codes == ["INTERNAL_SERVER_ERROR"]
    assert "secret detail" not in str(response.body)
    assert "passwd" not in str(response.body)
