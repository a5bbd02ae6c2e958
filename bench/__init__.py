"""Benchmarks: each `bench/<name>.py` has `main() -> list[Ratio]`; `python -m bench` runs them all.

A benchmark measures its own baseline in the same run (same machine, same load), so the ratio
means something on a shared or noisy computer where absolute numbers do not.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ratio:
    name: str
    measured: float
    baseline: float
    unit: str
    # The ratio measured/baseline must stay at or below this to pass.
    limit: float

    @property
    def ratio(self) -> float:
        return self.measured / self.baseline if self.baseline else float("inf")

    @property
    def passed(self) -> bool:
        return self.ratio <= self.limit
