"""Text from headers and other free-form client input, made storable before it is stored.

PostgreSQL's `text` refuses U+0000 and no UTF-8 column takes a lone surrogate; control
characters in a stored User-Agent would also reach log viewers and CSV exports verbatim.
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(value: str | None, limit: int) -> str | None:
    """`value` without NUL, control characters or lone surrogates, cut to `limit` characters;
    None when nothing is left."""
    if not value:
        return None
    return _UNSTORABLE.sub(REPLACEMENT, value[:limit]) or None
