"""The schema tooling CI runs: GraphQL Code Generator validates the example operations against
the committed SDL, and GraphQL Inspector refuses breaking changes since the last release."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.tooling import ROOT, SCHEMA_TOOLS, require_node_tools

RELEASES = ROOT / "schema" / "releases"
DIFF_SCRIPT = SCHEMA_TOOLS / "schema-diff.mjs"
CODEGEN = SCHEMA_TOOLS / "node_modules" / ".bin" / "graphql-codegen"

DEPRECATED_FIELD_SCHEMA = """
type Query {
  me: String!
  legacyName: String @deprecated(reason: "Use me.")
}
"""
WITHOUT_DEPRECATED_FIELD = """
type Query {
  me: String!
}
"""


@pytest.fixture
def node() -> str:
    return require_node_tools()


def run(*args: str | Path, cwd: Path = SCHEMA_TOOLS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def codegen_config(tmp_path: Path, schema: Path, documents: Path) -> Path:
    config = tmp_path / "codegen.yml"
    config.write_text(
        f"schema: {schema}\n"
        f"documents: {documents}\n"
        "generates:\n"
        f"  {tmp_path / 'out.ts'}:\n"
        "    plugins: [typescript, typescript-operations]\n"
    )
    return config


def test_codegen_generates_types_for_the_dashboard_operations(node: str, tmp_path: Path) -> None:
    # given the committed schema and the dashboard's operation files
    documents = ROOT / "examples" / "dashboard" / "operations" / "*.graphql"
    config = codegen_config(tmp_path, ROOT / "schema.graphql", documents)

    # when the code generator runs
    result = run(CODEGEN, "--config", config, "--silent")

    # then it succeeds and every operation file got its TypeScript result type
    assert result.returncode == 0, result.stdout + result.stderr
    generated = (tmp_path / "out.ts").read_text()
    for operation in (ROOT / "examples" / "dashboard" / "operations").glob("*.graphql"):
        name = re.search(r"(query|mutation|subscription) (\w+)", operation.read_text())
        assert name is not None, operation
        suffix = name.group(1).capitalize()
        assert f"export type {name.group(2)}{suffix} = " in generated


def test_codegen_refuses_an_operation_the_schema_does_not_have(node: str, tmp_path: Path) -> None:
    # given an operation asking for a field that does not exist
    document = tmp_path / "Broken.graphql"
    document.write_text("query Broken { me { email passwordHash } }\n")
    config = codegen_config(tmp_path, ROOT / "schema.graphql", document)

    # when the code generator runs
    result = run(CODEGEN, "--config", config)

    # then it fails and names the field
    assert result.returncode != 0
    assert "passwordHash" in result.stdout + result.stderr


def test_the_committed_schema_has_no_breaking_change_since_the_last_release(node: str) -> None:
    # given the committed schema and the releases kept under schema/releases
    assert list(RELEASES.glob("v*.graphql")), "no release schema committed"

    # when the diff runs with its defaults
    result = run(node, DIFF_SCRIPT)

    # then it passes
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no breaking changes" in result.stdout


def test_removing_a_field_without_deprecation_fails(node: str, tmp_path: Path) -> None:
    # given the current schema with the `email` field of `User` removed
    current = (ROOT / "schema.graphql").read_text()
    broken, removed = re.subn(
        r'(type User implements Node \{.*?)\n  """[^"]*"""\n  email: String!\n',
        r"\1\n",
        current,
        count=1,
        flags=re.DOTALL,
    )
    assert removed == 1, "test setup: User.email not found in schema.graphql"
    candidate = tmp_path / "schema.graphql"
    candidate.write_text(broken)

    # when it is compared with the current schema as the release
    result = run(node, DIFF_SCRIPT, "--base", ROOT / "schema.graphql", "--schema", candidate)

    # then the diff fails and says what broke
    assert result.returncode != 0
    assert "BREAKING" in result.stdout
    assert "Field 'email' was removed from object type 'User'" in result.stdout


def test_changing_a_field_type_fails(node: str, tmp_path: Path) -> None:
    # given a release where `me` is a String! and a new schema where it is an Int!
    base = tmp_path / "v1.graphql"
    base.write_text(WITHOUT_DEPRECATED_FIELD)
    candidate = tmp_path / "schema.graphql"
    candidate.write_text(WITHOUT_DEPRECATED_FIELD.replace("me: String!", "me: Int!"))

    # when they are compared
    result = run(node, DIFF_SCRIPT, "--base", base, "--schema", candidate)

    # then the change is breaking
    assert result.returncode != 0
    assert "changed type from 'String!' to 'Int!'" in result.stdout


def test_removing_a_field_deprecated_in_the_last_release_passes(node: str, tmp_path: Path) -> None:
    # given a release that deprecated `legacyName`, and a new schema without it
    base = tmp_path / "v1.graphql"
    base.write_text(DEPRECATED_FIELD_SCHEMA)
    candidate = tmp_path / "schema.graphql"
    candidate.write_text(WITHOUT_DEPRECATED_FIELD)

    # when they are compared
    result = run(node, DIFF_SCRIPT, "--base", base, "--schema", candidate)

    # then the removal is reported but does not fail: the deprecation period was respected
    assert result.returncode == 0, result.stdout + result.stderr
    assert "legacyName" in result.stdout
