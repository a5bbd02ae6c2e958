"""How many items one connection page holds: the bounds that pages and the cost check share."""

from __future__ import annotations

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
