"""Normalization of one record (providers/sanitize.py) and the transport repairs that feed it
(providers/wire.py): every rule, its cap and the code it reports."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from db.enums import Provider, ResourceStatus, ResourceType
from providers import sanitize as s
from providers.base import ResourceRecord
from providers.wire import RAW_RESULT, repair_search_page, repair_xml


def base(**fields: object) -> ResourceRecord:
    values: dict[str, object] = {
        "provider": Provider.AWS,
        "account": "123456789012",
        "region": "us-east-1",
        "type": ResourceType.VM,
        "native_type": "AWS::EC2::Instance",
        "resource_id": "i-1",
        "name": "web",
    }
    values.update(fields)
    return ResourceRecord(**values)  # type: ignore[arg-type]


def normalized(**fields: object) -> s.Normalized:
    outcome = s.normalize_record(base(**fields))
    assert isinstance(outcome, s.Normalized), outcome
    return outcome


def test_a_clean_record_is_returned_unchanged_and_unflagged() -> None:
    record = base(tags={"env": "prod"}, metadata={"a": [1, 2.5, True, None, "x"]})
    outcome = s.normalize_record(record)
    assert outcome == s.Normalized(record, frozenset())


def test_controls_become_visible_escapes_in_identifiers_and_text() -> None:
    # given NUL, a tab, DEL and a C1 control in a name, a tag key, a tag value and metadata
    outcome = normalized(
        name="a\x00b\tc\x7fd\x85",
        tags={"k\x01": "v\x00\nw"},
        metadata={"note": "line\none\ttab\x00", "k\x1b": 1},
    )
    # then identifiers escape every control; free text keeps tab and line breaks
    assert outcome.record.name == "a\u2400b\u2409c\u2421d\ufffd"
    assert outcome.record.tags == {"k\u2401": "v\u2400\nw"}
    assert outcome.record.metadata == {"note": "line\none\ttab\u2400", "k\u241b": 1}
    assert outcome.changes == {s.CONTROL_CHARACTER}


def test_lone_surrogates_and_noncharacters_are_replaced() -> None:
    outcome = normalized(name="a\ud800b\uffff", tags={"k": "\udfff"})
    assert outcome.record.name == "a\ufffdb\ufffd"
    assert outcome.record.tags == {"k": "\ufffd"}
    assert outcome.changes == {s.INVALID_UNICODE}
    outcome.record.name.encode("utf-8")  # storable as UTF-8


def test_bidi_controls_are_kept_and_flagged() -> None:
    outcome = normalized(name="invoice\u202efdp.exe", tags={"\u2066k": "v"})
    assert outcome.record.name == "invoice\u202efdp.exe"
    assert outcome.record.tags == {"\u2066k": "v"}
    assert outcome.changes == {s.BIDI_CONTROL}


def test_wire_stand_ins_become_the_usual_escapes() -> None:
    nul = chr(s.WIRE_CONTROL_BASE)
    outcome = normalized(name=f"a{nul}b{s.WIRE_INVALID}")
    assert outcome.record.name == "a\u2400b\ufffd"
    assert outcome.changes == {s.CONTROL_CHARACTER, s.INVALID_UNICODE}


def test_strings_are_cut_at_their_caps() -> None:
    outcome = normalized(
        name="n" * 1_000_000,
        region="r" * 100,
        tags={"k" * 600: "v" * 300},
        metadata={"description": "d" * 100_000},
    )
    record = outcome.record
    assert len(record.name) == s.MAX_NAME and record.name.endswith("…")
    assert len(record.region) == s.MAX_REGION
    ((key, value),) = record.tags.items()
    assert (len(key), len(value)) == (s.MAX_TAG_KEY, s.MAX_TAG_VALUE)
    assert len(record.metadata["description"]) == s.MAX_TEXT
    assert outcome.changes == {s.TRUNCATED}


def test_tag_maps_are_capped_and_coerced() -> None:
    many = normalized(tags={f"k{n}": "v" for n in range(10_000)})
    assert len(many.record.tags) == s.MAX_TAGS and many.changes == {s.TOO_MANY_TAGS}
    coerced = normalized(tags={"n": 5, "b": False, "none": None, "d": {"x": 1}, 7: "seven"})
    assert coerced.record.tags == {
        "n": "5",
        "b": "false",
        "none": "",
        "d": '{"x": 1}',
        "7": "seven",
    }
    assert coerced.changes == {s.NOT_A_STRING}
    shaped = normalized(tags=["a", "b"], metadata="text")
    assert (shaped.record.tags, shaped.record.metadata) == ({}, {})
    assert shaped.changes == {s.INVALID_SHAPE}


def test_metadata_nesting_items_and_numbers_are_bounded() -> None:
    deep: object = "bottom"
    for _ in range(40):
        deep = {"d": deep}
    outcome = normalized(
        metadata={
            "deep": deep,
            "list": list(range(5_000)),
            "nan": math.nan,
            "inf": -math.inf,
            "big": 10**5000,
            "when": datetime(2024, 1, 2, tzinfo=UTC),
            "blob": b"\xff\xfeok",
            "set": {3},
        }
    )
    meta = outcome.record.metadata
    depth, node = 0, meta["deep"]
    while isinstance(node, dict):
        depth, node = depth + 1, node["d"]
    assert depth == s.MAX_DEPTH - 1 and node is None
    assert len(meta["list"]) == s.MAX_ITEMS
    assert meta["nan"] is None and meta["inf"] is None and meta["big"] is None
    assert meta["when"] == "2024-01-02T00:00:00+00:00"
    assert meta["blob"] == "\ufffd\ufffdok" and meta["set"] == [3]
    assert outcome.changes == {s.TOO_DEEP, s.TOO_MANY_ITEMS, s.INVALID_NUMBER, s.NOT_A_STRING}
    json.dumps(meta, allow_nan=False)  # storable on both databases


def test_foreign_types_in_typed_fields_are_coerced() -> None:
    outcome = normalized(name=12345, resource_id=987, cost_per_hour=math.inf, status="on")
    record = outcome.record
    assert (record.name, record.resource_id, record.cost_per_hour) == ("12345", "987", None)
    assert record.status == ResourceStatus.UNKNOWN
    assert outcome.changes == {s.NOT_A_STRING, s.INVALID_NUMBER, s.INVALID_SHAPE}
    assert normalized(name=None).record.name == ""


@pytest.mark.parametrize(
    ("fields", "resource_id", "words"),
    [
        ({"resource_id": ""}, None, "without an id"),
        ({"resource_id": None}, None, "without an id"),
        ({"resource_id": "x" * 600}, "x" * 199 + "…", "longer than 512"),
        ({"metadata": {f"k{n}": "v" * 32_000 for n in range(320)}}, "i-1", "KiB"),
        ({"configuration": {"list": ["v" * 32_000] * 9}}, "i-1", "KiB"),
        ({"metadata": {"k" * 30_000 + str(n): 1 for n in range(9)}}, "i-1", "KiB"),
        ({"rejected": "Unexpected shape."}, "i-1", "Unexpected shape."),
    ],
)
def test_records_that_cannot_be_stored_are_rejected_in_our_words(
    fields: dict[str, object], resource_id: str | None, words: str
) -> None:
    outcome = s.normalize_record(replace(base(), **fields))  # type: ignore[arg-type]
    assert isinstance(outcome, s.Rejected)
    assert outcome.resource_id == resource_id and words in outcome.reason
    assert "v" * 10 not in outcome.reason


def test_xml_repair_turns_forbidden_bytes_into_stand_ins() -> None:
    body = b"<a><v>x\x00y\x1f\tz</v><w>\xff\xe2\x80\xae</w></a>"
    repaired = repair_xml(body).decode("utf-8")
    nul, unit = chr(s.WIRE_CONTROL_BASE), chr(s.WIRE_CONTROL_BASE + 0x1F)
    assert repaired == f"<a><v>x{nul}y{unit}\tz</v><w>{s.WIRE_INVALID}\u202e</w></a>"
    assert repair_xml(b"<ok/>") == b"<ok/>"


def test_a_search_page_keeps_readable_results_and_wraps_the_others() -> None:
    good = {"name": "//x/a", "displayName": "a", "labels": {"k": "v"}}
    bad = {"name": "//x/b", "displayName": 5, "labels": ["k"]}
    page = json.dumps({"results": [good, bad], "nextPageToken": "2"}).encode()
    repaired = json.loads(repair_search_page(page) or b"")
    assert repaired["results"][0] == good and repaired["nextPageToken"] == "2"
    wrapped = repaired["results"][1]
    assert wrapped["name"] == "//x/b"
    assert json.loads(wrapped["additionalAttributes"][RAW_RESULT]) == bad
    assert repair_search_page(json.dumps({"results": [good]}).encode()) is None
