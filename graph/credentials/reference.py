"""The `credential` field of every type that belongs to a credential (resources, sync jobs).

Written once here; it loads through `CloudCredential.resolve_node` (found in the schema, so the
types that use this field need not import the credentials types, which import theirs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from graph.context import Info
from graph.node import related_node

if TYPE_CHECKING:
    from graph.credentials.types import CloudCredential


def credential_field(description: str) -> Any:
    """A field returning the credential whose local id the object keeps in `credential_id`."""

    async def credential(
        root: Any, info: Info
    ) -> Annotated[CloudCredential, strawberry.lazy("graph.credentials.types")]:
        found: CloudCredential = await related_node(info, "CloudCredential", root.credential_id)
        return found

    return strawberry.field(resolver=credential, description=description)
