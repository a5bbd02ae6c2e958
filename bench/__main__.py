"""Run every benchmark module's `main()` and print one table of ratios; exit 1 if any fails."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

from bench import Ratio


def discover(names: list[str]) -> list[str]:
    found = sorted(
        m.name
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if not m.name.startswith("_")
    )
    return [name for name in found if not names or name in names]


def main(argv: list[str]) -> int:
    results: list[Ratio] = []
    for name in discover(argv):
        print(f"running bench.{name} …", file=sys.stderr, flush=True)
        results.extend(importlib.import_module(f"bench.{name}").main())
    header = f"{'benchmark':<44} {'measured':>12} {'baseline':>12} {'ratio':>7} {'limit':>6}  ok"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<44} {r.measured:>10.2f}{r.unit:<2} {r.baseline:>10.2f}{r.unit:<2} "
            f"{r.ratio:>7.2f} {r.limit:>6.1f}  {'yes' if r.passed else 'NO'}"
        )
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
