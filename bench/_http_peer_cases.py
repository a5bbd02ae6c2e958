"""The cases of bench/http_peer.py: one page, asked of each server in its own terms.

The product and the floor take the product's GraphQL (the floor a JSON of the same arguments);
PostGraphile takes its Amber-preset equivalent: `allResources` with `condition` (equality, and
`deletedAt: null` for IS NULL, as the product leaves deleted resources out) and
`orderBy: [NAME_ASC, ROW_ID_ASC]`, the product's default order.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from graph.node import from_global_id

# The 12 node fields of bench/read_api.py; PostGraphile's names are the same for these columns.
FIELDS = "id name provider type nativeType resourceId region account status tags costPerHour "
FIELDS += "lastSyncedAt"


@dataclass(frozen=True)
class Case:
    label: str
    first: int
    provider: str | None = None
    type: str | None = None

    def product(self) -> bytes:
        where = ""
        if self.provider:
            where = f", filter: {{provider: [{self.provider}], type: [{self.type}]}}"
        return _query(f"resources(first: {self.first}{where})")

    def peer(self, user_id: uuid.UUID) -> bytes:
        # `condition` is PostGraphile's equality filter; deletedAt: null means IS NULL, as the
        # product leaves deleted resources out by default.
        condition = f'userId: "{user_id}", deletedAt: null'
        if self.provider:
            condition += f', provider: "{self.provider}", type: "{self.type}"'
        return _query(
            f"allResources(first: {self.first}, condition: {{{condition}}}, "
            "orderBy: [NAME_ASC, ROW_ID_ASC])"
        )

    def floor(self) -> bytes:
        filters = {"provider": [self.provider], "type": [self.type]} if self.provider else {}
        return orjson.dumps({"first": self.first, **filters})


def _query(connection: str) -> bytes:
    page = "pageInfo { hasNextPage endCursor } edges { cursor node { " + FIELDS + " } }"
    return orjson.dumps({"query": f"query {{ {connection} {{ {page} }} }}"})


CASES = [
    Case("resources(first: 100), 12 fields", 100),
    Case("resources(first: 10), 12 fields", 10),
    Case("resources(first: 100) where provider AWS, type VM", 100, "AWS", "VM"),
]


def product_ids(answer: Any) -> list[uuid.UUID]:
    edges = answer["data"]["resources"]["edges"]
    return [from_global_id(edge["node"]["id"])[1] for edge in edges]


def peer_ids(answer: Any) -> list[uuid.UUID]:
    edges = answer["data"]["allResources"]["edges"]
    # PostGraphile's node id: base64 of the JSON array [type name, primary key].
    return [uuid.UUID(orjson.loads(base64.b64decode(e["node"]["id"]))[1]) for e in edges]
