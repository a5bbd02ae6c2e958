"""The rule catalogue as documentation: the full table in docs/findings.md and the compact list
in the README, each between its markers, generated from `sync.findings.rules`.

    python -m stratograph.findings_docs          # rewrite both blocks
    python -m stratograph.findings_docs --check  # exit 1 when a committed block differs

`tests/test_findings_docs.py` fails when the committed text is not what this generates.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from db.enums import Severity
from sync.findings.rules import FRAMEWORKS, RULES, Rule

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "findings.md"
README = ROOT / "README.md"
CATALOGUE = ("<!-- catalogue:start -->", "<!-- catalogue:end -->")
LIST = ("<!-- rules:start -->", "<!-- rules:end -->")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _compliance(rule: Rule) -> str:
    return "; ".join(f"{c.framework} {c.control}" for c in rule.compliance) or "—"


def _kinds(rule: Rule) -> str:
    kinds = ", ".join(f"`{t}`" for t in rule.native_types)
    if rule.related is None:
        return kinds
    return f"{kinds} (reads its `{rule.related.relation.value}` {rule.related.native_type})"


def catalogue() -> str:
    """Every rule with id, severity, provider, kinds, compliance, description and remediation."""
    lines = [
        f"{len(RULES)} rules; frameworks mapped: "
        + "; ".join(f"{name} ({len(controls)} controls)" for name, controls in FRAMEWORKS.items())
        + ".",
        "",
    ]
    for provider in ("AWS", "AZURE", "GCP"):
        lines += [
            f"### {provider}",
            "",
            "| id | severity | kinds | compliance | what fails | remediation |",
            "|---|---|---|---|---|---|",
        ]
        for rule in RULES:
            if rule.provider.value != provider:
                continue
            cells = (
                f"`{rule.id}`",
                rule.severity.value,
                _kinds(rule),
                _compliance(rule),
                f"**{rule.title}.** {rule.description}",
                rule.remediation,
            )
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def rule_list() -> str:
    """Every rule id for the README, one line per cloud, grouped by severity (the titles and the
    rest are in docs/findings.md)."""
    lines = []
    for provider in dict.fromkeys(rule.provider for rule in RULES):
        groups = []
        for severity in Severity:
            ids = [f"`{r.id}`" for r in RULES if r.provider == provider and r.severity == severity]
            if ids:
                groups.append(f"{severity.value}: " + ", ".join(ids))
        lines.append(
            f"- **{provider.value}** ({sum(r.provider == provider for r in RULES)}) — "
            + "; ".join(groups)
        )
    return "\n".join(lines)


def with_block(text: str, markers: tuple[str, str], block: str) -> str:
    start, end = markers
    before, found, rest = text.partition(start)
    _, found_end, after = rest.partition(end)
    if not found or not found_end:
        raise ValueError(f"markers {start} … {end} not found")
    return f"{before}{start}\n{block}\n{end}{after}"


def generated() -> dict[Path, str]:
    return {
        DOC: with_block(DOC.read_text(encoding="utf-8"), CATALOGUE, catalogue()),
        README: with_block(README.read_text(encoding="utf-8"), LIST, rule_list()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only compare, write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path, text in generated().items():
        if path.read_text(encoding="utf-8") != text:
            stale.append(path)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("out of date: " + ", ".join(str(p.relative_to(ROOT)) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
