"""Trusted documents: in this optional mode the server runs only operations its own clients ship.

The allow-list is an Apollo persisted-query manifest built from the clients' `.graphql` files
(`stratograph build-trusted-documents <folder>`). Each operation is stored in a canonical form:
the operation followed by the fragments it uses (sorted by name), printed by graphql-core. Its id
is the SHA-256 of that text, so a client may send the hash alone
(`extensions.persistedQuery.sha256Hash`, as Apollo clients do) or the full text, however it is
formatted. Either way the server executes the stored text, never the client's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    Node,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

MANIFEST_FORMAT = "apollo-persisted-query-manifest"
MANIFEST_VERSION = 1
# A trusted operation is small; a bigger untrusted text is refused before it costs a full parse.
MAX_TOKENS = 5000
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class TrustedDocumentsError(Exception):
    """A manifest or an operation folder cannot be used; the message says why."""


class RefusedOperation(Exception):
    """A request the allow-list does not cover. `code` goes to `extensions.code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TrustedOperation:
    id: str
    name: str | None
    type: str
    body: str

    def as_manifest_entry(self) -> dict[str, str | None]:
        return {"id": self.id, "name": self.name, "type": self.type, "body": self.body}


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class _SpreadCollector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.names.append(node.name.value)


def _fragments_used(root: Node, fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """Names of every fragment `root` reaches, transitively, sorted."""
    seen: set[str] = set()
    pending = [root]
    while pending:
        collector = _SpreadCollector()
        visit(pending.pop(), collector)
        for name in collector.names:
            if name not in seen and name in fragments:
                seen.add(name)
                pending.append(fragments[name])
    return sorted(seen)


def canonical_operations(document: DocumentNode) -> list[TrustedOperation]:
    """Each operation of `document` on its own, with its fragments, in canonical text."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations: list[TrustedOperation] = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        used = [fragments[name] for name in _fragments_used(definition, fragments)]
        body = print_ast(DocumentNode(definitions=(definition, *used)))
        name = definition.name.value if definition.name else None
        operations.append(
            TrustedOperation(sha256_hex(body), name, definition.operation.value, body)
        )
    return operations


def operations_in_folder(folder: Path) -> list[TrustedOperation]:
    """Every operation in the `.graphql` files under `folder` (recursively), deduplicated."""
    files = sorted(folder.rglob("*.graphql"))
    if not files:
        raise TrustedDocumentsError(f"no .graphql files under {folder}")
    found: dict[str, TrustedOperation] = {}
    for path in files:
        try:
            document = parse(path.read_text(encoding="utf-8"))
        except GraphQLSyntaxError as exc:
            raise TrustedDocumentsError(f"{path}: {exc.message}") from exc
        for operation in canonical_operations(document):
            found.setdefault(operation.id, operation)
    return sorted(found.values(), key=lambda op: (op.name or "", op.id))


def build_manifest(operations: Iterable[TrustedOperation]) -> dict[str, Any]:
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "operations": [op.as_manifest_entry() for op in operations],
    }


class TrustedDocuments:
    """The allow-list, keyed by SHA-256 of the canonical text."""

    def __init__(self, operations: Iterable[TrustedOperation]) -> None:
        self.by_id = {op.id: op for op in operations}

    @classmethod
    def load(cls, path: str | Path) -> TrustedDocuments:
        try:
            manifest = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise TrustedDocumentsError(f"cannot read trusted documents {path}: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            raise TrustedDocumentsError(f"{path} is not an {MANIFEST_FORMAT} (format field)")
        operations = []
        for entry in manifest.get("operations") or []:
            body = str(entry["body"])
            # The id is recomputed, so an edited manifest cannot smuggle a body under a known id.
            canonical = canonical_operations(parse(body))
            if len(canonical) != 1 or canonical[0].id != entry["id"]:
                raise TrustedDocumentsError(f"{path}: operation {entry.get('name')!r} is altered")
            operations.append(canonical[0])
        if not operations:
            raise TrustedDocumentsError(f"{path} lists no operations")
        return cls(operations)

    def resolve(
        self, query: str | None, operation_name: str | None, extensions: Mapping[str, Any] | None
    ) -> str:
        """The stored text to execute for this request, or `RefusedOperation`."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is not None:
            wanted = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
            if not isinstance(wanted, str) or not _SHA256_HEX.match(wanted):
                raise RefusedOperation(
                    "BAD_REQUEST", "extensions.persistedQuery.sha256Hash must be a SHA-256 hex"
                )
            if query is not None and sha256_hex(query) != wanted:
                raise RefusedOperation("BAD_REQUEST", "provided sha256Hash does not match query")
            if wanted in self.by_id:
                return self.by_id[wanted].body
            if query is None:
                raise RefusedOperation(
                    "PERSISTED_QUERY_NOT_FOUND",
                    "PersistedQueryNotFound: this server only runs its trusted documents",
                )
        if query is None:
            raise RefusedOperation("BAD_REQUEST", "no GraphQL query found in the request")
        return self._trusted_body(query, operation_name)

    def _trusted_body(self, query: str, operation_name: str | None) -> str:
        refused = RefusedOperation(
            "UNTRUSTED_DOCUMENT", "this operation is not one of the server's trusted documents"
        )
        try:
            document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
        except GraphQLSyntaxError:
            raise refused from None
        operations = canonical_operations(document)
        if operation_name is not None:
            operations = [op for op in operations if op.name == operation_name]
        if len(operations) != 1 or operations[0].id not in self.by_id:
            raise refused
        return operations[0].body
