"""Servers as real processes on free loopback ports, and the CPU time they spend.

CPU comes from /proc/<pid>/stat (utime + stime, every thread included) summed over the process
and its descendants, so a server that forks workers or helpers is charged for them too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

TICKS = os.sysconf("SC_CLK_TCK")
START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ServerSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: str
    path: str  # where it answers POSTs, e.g. /graphql


@dataclass
class Running:
    spec: ServerSpec
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.spec.path}"

    def post(self, body: bytes, headers: dict[str, str]) -> Any:
        """One request; the decoded JSON answer (any HTTP error is raised)."""
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return orjson.loads(answer.read())
        except urllib.error.HTTPError as error:
            said = error.read()[:2000].decode(errors="replace")
            raise RuntimeError(f"{self.spec.name} answered {error.code}: {said}") from error

    def cpu_seconds(self) -> float:
        return sum(_cpu_ticks(pid) for pid in _tree(self.process.pid)) / TICKS


def _cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0  # exited between listing and reading
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending += parents.get(pid, [])
    return found


@contextmanager
def running(spec: ServerSpec) -> Iterator[Running]:
    """Start the server on a free port (PORT in its environment and `{port}` in its argv), wait
    until it accepts connections, stop it (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    argv = [part.replace("{port}", str(port)) for part in spec.argv]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            argv,
            cwd=spec.cwd,
            env={**spec.env, "PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_until_listening(process, port, log)
            yield Running(spec, process, port)
        finally:
            _stop(process)


def _wait_until_listening(process: subprocess.Popen[bytes], port: int, log: Any) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            tail = log.read()[-3000:].decode(errors="replace")
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}:\n{tail}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)  # polling a port that is not open yet
    raise RuntimeError(f"{process.args!r} did not listen on {port} in {START_SECONDS} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
