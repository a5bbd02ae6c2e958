"""Shared normalization: price lookups, status mapping, tags and JSON-safe metadata.

Every cloud module turns its native shapes into `ResourceRecord`s with these helpers, so the
inventory speaks one vocabulary whatever the cloud.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from db.enums import Provider, ResourceStatus, ResourceType
from providers.base import GLOBAL_REGION, ResourceRecord
from providers.sanitize import MAX_DEPTH

HOURS_PER_MONTH = 730  # the convention every cloud price page uses
# The exceptions a record builder raises on a shape it did not expect (a list where an object
# belongs, a missing key): that item is skipped, never the listing.
SHAPE_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError)


@dataclass(frozen=True, slots=True)
class Price:
    """An hourly list price and where it came from (table, region, date), for `costSource`."""

    hourly: float
    source: str


@lru_cache(maxsize=1)
def _prices() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((Path(__file__).with_name("prices.json")).read_text())
    return loaded


@lru_cache(maxsize=1)
def price_table() -> dict[str, dict[str, float]]:
    """The shipped price tables (providers/prices.json), without the `_about`/`_regions` blocks.

    A table named `name@region` holds that region's prices for the table `name`."""
    return {name: dict(prices) for name, prices in _prices().items() if not name.startswith("_")}


def _base_region(table: str) -> str:
    return str(_prices()["_regions"][table])


def _date() -> str:
    return str(_prices()["_about"]["date"])


def price(table: str, size: str | None, region: str | None) -> Price | None:
    """The price of `size` in `region` when the table has that region, else the table's base
    region (and the source says so); None when the size is unknown (never a made-up 0)."""
    if not size:
        return None
    tables = price_table()
    if region:
        regional = tables.get(f"{table}@{region}", {}).get(size)
        if regional is not None:
            return Price(regional, f"prices.json {table} {region} ({_date()})")
    base = tables.get(table, {}).get(size)
    if base is None:
        return None
    base_region = _base_region(table)
    source = f"prices.json {table} {base_region} ({_date()})"
    if region and region != base_region:
        source += f"; no {region} price in the table"
    return Price(base, source)


def hourly_price(table: str, size: str | None, region: str | None = None) -> float | None:
    """Hourly list price of `size`, or None when the size is unknown."""
    found = price(table, size, region)
    return found.hourly if found else None


def ebs_price(volume_type: str | None, size_gib: int | None, region: str | None) -> Price | None:
    per_gb_month = price("aws_ebs_gb_month", volume_type, region)
    if per_gb_month is None or size_gib is None:
        return None
    return Price(round(per_gb_month.hourly * size_gib / HOURS_PER_MONTH, 6), per_gb_month.source)


def ebs_hourly_price(volume_type: str | None, size_gib: int | None) -> float | None:
    found = ebs_price(volume_type, size_gib, None)
    return found.hourly if found else None


def running_cost(price: float | None, status: ResourceStatus) -> float | None:
    """A VM bills compute only while it runs: stopped or terminated costs 0 per hour."""
    if price is None:
        return None
    if status in (ResourceStatus.STOPPED, ResourceStatus.TERMINATED):
        return 0.0
    return price


def priced(found: Price | None, status: ResourceStatus | None = None) -> dict[str, Any]:
    """A record's `cost_per_hour` and `cost_source`; with `status`, compute bills only while
    the resource runs."""
    if found is None:
        return {"cost_per_hour": None, "cost_source": None}
    hourly = found.hourly if status is None else running_cost(found.hourly, status)
    return {"cost_per_hour": hourly, "cost_source": found.source}


def map_status(
    value: str | None,
    mapping: Mapping[str, ResourceStatus],
    default: ResourceStatus = ResourceStatus.UNKNOWN,
) -> ResourceStatus:
    """Case-insensitive lookup of a native state in a per-kind table."""
    if not value:
        return default
    return mapping.get(value.lower(), ResourceStatus.UNKNOWN)


def clean_tags(tags: object) -> dict[str, str]:
    """Tags/labels as the cloud sent them: `providers.sanitize` checks their shape, coerces and
    bounds them (and reports what it changed) for every provider at once."""
    return cast(dict[str, str], tags if tags is not None else {})


def aws_tags(tags: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    """AWS `[{"Key": k, "Value": v}]` lists as a map."""
    pairs = {tag["Key"]: tag.get("Value") for tag in tags or () if "Key" in tag}
    return clean_tags({key: "" if value is None else value for key, value in pairs.items()})


def text(value: object) -> str:
    """A field the cloud should send as a string, passed on as sent: `providers.sanitize`
    coerces anything else (and reports it)."""
    return cast(str, value)


def unreadable(provider: Provider, resource_id: object, native_type: object) -> ResourceRecord:
    """An item of a listing whose shape its builder could not read: skipped alone, reported."""
    return ResourceRecord(
        provider=provider,
        account="",
        region=GLOBAL_REGION,
        type=ResourceType.OTHER,
        native_type=text(native_type if isinstance(native_type, str) else "unknown"),
        resource_id=text(resource_id if isinstance(resource_id, str) else ""),
        name="",
        rejected="The cloud's description of this resource has an unexpected shape.",
    )


def jsonable(value: Any, depth: int = 0) -> Any:
    """Metadata safe for a JSON column: datetimes as ISO strings; None and empty values dropped.

    Below MAX_DEPTH a value is passed on as it is: `providers.sanitize` cuts it there (and
    reports it), and recursing into a hostile nesting here could exhaust the stack."""
    if depth >= MAX_DEPTH:
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        cleaned = {str(k): jsonable(v, depth + 1) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item, depth + 1) for item in value if item is not None]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def metadata(**values: Any) -> dict[str, Any]:
    result: dict[str, Any] = jsonable(values)
    return result


def configuration(**values: Any) -> dict[str, Any]:
    """A configuration shape: every key kept (null, false and [] are answers), values JSON-safe."""
    return {key: plain(value) for key, value in values.items()}


def plain(value: Any) -> Any:
    """JSON-safe without dropping anything: datetimes as ISO strings, tuples and sets as lists."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
