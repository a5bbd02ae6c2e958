"""graphql-core's messages quote submitted values; ours are redacted, our own errors are not."""

from __future__ import annotations

from graphql import GraphQLError

from graph.errors import ErrorCode, PublicError
from graph.redaction import redact_error, redact_message


def test_quoted_values_are_redacted() -> None:
    cases = {
        "Expected value of type 'AwsSecretInput' to include required field 'accessKeyId', "
        "found: {secretAccessKey: 'hunter2'}.": "Expected value of type 'AwsSecretInput' to "
        "include required field 'accessKeyId', found: <redacted>.",
        "Expected value of type 'String!', found [\"hunter2\"].": "Expected value of type "
        "'String!', found <redacted>.",
        "Field 'x' is not defined by type 'Y'. Found: {x: 'hunter2'}.": "Field 'x' is not "
        "defined by type 'Y'. Found: <redacted>.",
        "String cannot represent a non string value: ['hunter2']": "String cannot represent a "
        "non string value: <redacted>.",
    }
    for message, redacted in cases.items():
        assert redact_message(message) == redacted


def test_wrapped_errors_are_redacted_and_public_errors_kept() -> None:
    inner = GraphQLError("Expected value of type 'X', found: 'hunter2'.")
    outer = GraphQLError(
        "Variable '$input' has invalid value: " + inner.message, None, None, None, None, inner
    )
    public = PublicError("Credential not found for you, found nothing.", ErrorCode.BAD_REQUEST)
    redact_error(outer)
    redact_error(public)
    assert "hunter2" not in outer.message and "hunter2" not in inner.message
    assert public.message == "Credential not found for you, found nothing."
