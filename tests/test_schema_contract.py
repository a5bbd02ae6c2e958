"""The committed schema is what the code exports, and every public field is described."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
)

from graph.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "schema.graphql"


def test_committed_schema_equals_export() -> None:
    exported = schema.as_str() + "\n"
    assert SCHEMA_FILE.read_text() == exported, (
        "schema.graphql is stale: run `stratograph export-schema > schema.graphql`"
    )


def test_every_public_type_field_and_argument_has_a_description() -> None:
    missing: list[str] = []
    for name, gql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not gql_type.description:
            missing.append(name)
        if isinstance(gql_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in gql_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in field.args.items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        elif isinstance(gql_type, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, v in gql_type.fields.items() if not v.description]
        elif isinstance(gql_type, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, d in gql_type.values.items() if not d.description]
    assert missing == []
