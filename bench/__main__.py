"""Run every benchmark module (or those named on the command line) and print one table.

Knobs (environment): BENCH_QUICK=1 shrinks every benchmark to a smoke-sized run (a minute or
so in all: numbers are then indicative only); each module's own BENCH_* variables still win.
A benchmark that fails gets a row saying so, the others still run, and the exit code is 1.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
import traceback
from pathlib import Path

# Smoke-sized values for BENCH_QUICK; explicit BENCH_* variables are left alone.
QUICK = {
    "BENCH_RESOURCES": "5000",
    "BENCH_OTHER_RESOURCES": "200",
    "BENCH_SECONDS": "0.5",
    "BENCH_ROUNDS": "1",
    "BENCH_CONCURRENCY": "8",
    "BENCH_PROFILE_REQUESTS": "50",
    "BENCH_CPU_REQUESTS": "50",
    "BENCH_ROTATION_COUNT": "1000",
    "BENCH_ME_REQUESTS": "100",
    "BENCH_LOGIN_CLIENTS": "8",
    "BENCH_SYNC_COUNTS": "1000",
    "STRATOGRAPH_BENCH_SYNC_COUNTS": "300",
    "BENCH_BACKUP_RESOURCES": "2000",
    "BENCH_EXPORT_ROWS": "20000",
    "BENCH_ORG_ACCOUNTS": "6",
    "BENCH_ORG_DELAY": "0.3",
    "BENCH_SCALE_SIZES": "2000,20000",
    "BENCH_SCOPE_REPEATS": "1",
    "BENCH_HTTP_WARMUP": "1",
    "BENCH_HTTP_SECONDS": "2",
    "BENCH_SQLITE_SESSIONS": "100",
}
# Benchmarks that name their ratio otherwise (read_api: to its floor; sync_moto: our share of
# the wall time; http_peer: to PostGraphile); copied into the common `ratio` column.
RATIO_ALIASES = ("× floor", "our share", "× PostGraphile")
# The columns every reader looks for first; the rest follow in the order benchmarks gave them.
LEADING = ("benchmark", "case", "ratio", "target", "measured", "baseline")


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def table(rows: list[dict[str, object]]) -> str:
    present = [key for row in rows for key in row]
    columns = [c for c in LEADING if c in present]
    columns += [key for key in dict.fromkeys(present) if key not in columns]
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if os.environ.get("BENCH_QUICK", "").lower() in ("1", "true", "yes"):
        for key, value in QUICK.items():
            os.environ.setdefault(key, value)
    rows: list[dict[str, object]] = []
    failed = False
    for name in argv or discover():
        print(f"running bench.{name} …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            # Imported here: modules read their BENCH_* knobs at import time.
            module = importlib.import_module(f"bench.{name}")
            produced = module.main()
        except Exception as error:  # one broken benchmark must not hide the others' numbers
            traceback.print_exc()
            rows.append({"benchmark": name, "case": f"FAILED: {type(error).__name__}: {error}"})
            failed = True
            continue
        took = f"{time.perf_counter() - started:.0f}s"
        for row in produced:
            alias = next((a for a in RATIO_ALIASES if a in row), None)
            if "ratio" not in row and alias is not None:
                row = {**row, "ratio": row[alias]}
            rows.append({"benchmark": name, **row, "took": took})
    print(table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
