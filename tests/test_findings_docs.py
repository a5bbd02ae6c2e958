"""The committed rule docs (docs/findings.md's catalogue, the README's list) are exactly what
the catalogue generates: a rule added or changed without regenerating them fails here."""

from __future__ import annotations

from stratograph.findings_docs import CATALOGUE, DOC, LIST, README, generated, with_block


def test_the_committed_rule_docs_equal_the_generated_ones() -> None:
    # when the blocks are generated from the catalogue
    expected = generated()
    # then the committed files hold them already
    # (to fix: python -m stratograph.findings_docs)
    assert DOC.read_text(encoding="utf-8") == expected[DOC]
    assert README.read_text(encoding="utf-8") == expected[README]


def test_a_changed_block_is_detected() -> None:
    # given the README with its rule list edited by hand
    edited = with_block(README.read_text(encoding="utf-8"), LIST, "| `x` | LOW | hand-written |")
    # then it differs from what is generated
    assert edited != generated()[README]
    assert CATALOGUE[0] in DOC.read_text(encoding="utf-8")
