"""Drive an HTTP server with wrk: one POST body and headers from a Lua script, numbers back as JSON.

wrk's `done` hook writes the totals and latency percentiles of its own HdrHistogram-style record
(microseconds), so nothing is parsed out of its human-readable report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MARK = "WRK_RESULT "
# A Lua long bracket whose level no JSON body or header value contains.
OPEN, CLOSE = "[==========[", "]==========]"
DONE = f"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{MARK}{{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"bad_status": %d, "socket_errors": %d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def missing() -> str | None:
    """Why wrk cannot run here, or None."""
    if shutil.which("wrk") is None:
        return "wrk is not installed (Debian: apt-get install wrk)"
    return None


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def script(body: bytes, headers: dict[str, str]) -> str:
    text = body.decode()
    if CLOSE in text or any(CLOSE in v for v in headers.values()):
        raise ValueError("the body or a header closes the Lua long string")
    lines = ['wrk.method = "POST"', f"wrk.body = {OPEN}{text}{CLOSE}"]
    lines += [f"wrk.headers[ {OPEN}{k}{CLOSE} ] = {OPEN}{v}{CLOSE}" for k, v in headers.items()]
    return "\n".join(lines) + "\n" + DONE


def run(
    url: str, lua: str, *, connections: int, seconds: float, warm_up: bool = False
) -> WrkResult:
    """One wrk run; any non-2xx answer or socket error fails it (a fast error is not a result),
    and so does a measured run without a single answer (a warm-up may have none)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as handle:
        Path(handle.name).write_text(lua)
        command = [
            "wrk", f"--threads={min(2, connections)}", f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s", "--timeout=30s", "--latency",
            f"--script={handle.name}", url,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    line = next((x for x in done.stdout.splitlines() if x.startswith(MARK)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    numbers = json.loads(line.removeprefix(MARK))
    if numbers["bad_status"] or numbers["socket_errors"] or not (numbers["requests"] or warm_up):
        raise RuntimeError(f"wrk against {url} saw failures: {numbers}")
    return WrkResult(
        requests=numbers["requests"],
        seconds=numbers["duration_us"] / 1e6,
        p50_ms=numbers["p50_us"] / 1000,
        p99_ms=numbers["p99_us"] / 1000,
    )
