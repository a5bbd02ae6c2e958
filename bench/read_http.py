"""The read API over real HTTP under wrk: `stratograph serve` against the hand-written floor.

Both servers run as their own process on the same PostgreSQL database, filled like `read_api`
(BENCH_RESOURCES for the first of BENCH_USERS users, BENCH_OTHER_RESOURCES for each other one).
The product runs as in production: ENVIRONMENT=production, behind a trusted proxy (wrk sends
X-Forwarded-For/-Proto from 127.0.0.1, which TRUSTED_PROXIES lists), connected as the
unprivileged `stratograph_app` role so row-level security applies. The floor
(`bench/_read_api_floor.py`) does the same security work by hand with asyncpg and orjson.

Cases: `resources(first: 100)` and `resources(first: 10)`, with pageInfo, cursors and 12 node
fields. For each: wrk with BENCH_CONNECTIONS connections for BENCH_SECONDS (req/s, and the
server process's CPU time per request from /proc), then one connection (p50/p99 latency).
BENCH_ROUNDS interleaved rounds (medians reported); BENCH_BEFORE_SOURCE names another checkout of
the code, served alongside as a "before".
Needs `wrk` on PATH and PostgreSQL (BENCH_POSTGRES_DSN, else TEST_POSTGRES_DSN).

    BENCH_SECONDS=10 python -m bench read_http
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import orjson

from bench._read_api_data import create_database, drop_database, populate, sqlalchemy_url
from bench.read_api import RESOURCES_QUERY
from core.settings import Settings
from graph.runtime import Runtime
from tests.factories import access_token

ENV = os.environ.get
RESOURCES = int(ENV("BENCH_RESOURCES", "100000"))
USERS = int(ENV("BENCH_USERS", "10"))
OTHER_RESOURCES = int(ENV("BENCH_OTHER_RESOURCES", "10000"))
CREDENTIALS = int(ENV("BENCH_CREDENTIALS", "10"))
SECONDS = float(ENV("BENCH_SECONDS", "10"))
CONNECTIONS = int(ENV("BENCH_CONNECTIONS", "32"))
ROUNDS = int(ENV("BENCH_ROUNDS", "3"))
# Another checkout of the code (e.g. `git archive main | tar -x -C /tmp/main`), served as a third
# server on the same database: the "before".
BEFORE_SOURCE = ENV("BENCH_BEFORE_SOURCE", "")
# A directory: py-spy (when on PATH) samples the product during each loaded run and leaves its
# collapsed stacks there; the heaviest functions by own time are printed.
PYSPY_DIR = ENV("BENCH_PYSPY_DIR", "")
ADMIN_DSN = ENV(
    "BENCH_POSTGRES_DSN", ENV("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1/postgres")
)
APP_ROLE = "stratograph_app"
ROOT = Path(__file__).resolve().parent.parent
CASES = [("resources(first: 100)", 100), ("resources(first: 10)", 10)]
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = {authorization}
wrk.headers["Host"] = "bench.example"
wrk.headers["X-Forwarded-For"] = "198.51.100.7"
wrk.headers["X-Forwarded-Proto"] = "https"
"""


def _as_app_role(dsn: str) -> str:
    parts = urlsplit(dsn)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{APP_ROLE}@{host}", parts.path, parts.query, ""))


def _database_dsn(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(("postgresql", parts.netloc, f"/{name}", parts.query, ""))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_env(database_url: str, secret_key: str, vault_key: str) -> dict[str, str]:
    return {
        **os.environ,
        "ENVIRONMENT": "production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEYS": vault_key,
        "ALLOWED_HOSTS": "bench.example",
        "TRUSTED_PROXIES": "127.0.0.1",
        "RATE_LIMIT_DEFAULT": "100000000/minute",
        "RATE_LIMIT_DASHBOARD": "100000000/minute",
        "LOG_LEVEL": "WARNING",
        "SYNC_IN_PROCESS": "false",
    }


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(url: str, script: Path, connections: int, seconds: float) -> dict[str, float]:
    threads = min(2, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
    ]
    output = subprocess.run(
        [*command, "-s", str(script), url], check=True, capture_output=True, text=True
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses from {url}")
    latency = {
        percent: _millis(value)
        for percent, value in re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)", output, re.MULTILINE)
    }
    return {"rate": rate, "requests": total, "p50": latency["50"], "p99": latency["99"]}


def _millis(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _loaded(pid: int, url: str, script: Path, profile: str | None = None) -> dict[str, float]:
    """req/s and the server's CPU ms per request under CONNECTIONS connections."""
    spy = None
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if profile and PYSPY_DIR and py_spy:
        output = Path(PYSPY_DIR) / f"{profile}.txt"
        command = [py_spy, "record", "-p", str(pid), "-d", str(max(1, round(SECONDS))), "-r"]
        spy = subprocess.Popen(
            [*command, "200", "-f", "raw", "-o", str(output), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    before = _cpu_seconds(pid)
    loaded = _wrk(url, script, CONNECTIONS, SECONDS)
    cpu = (_cpu_seconds(pid) - before) / loaded["requests"] * 1000
    if spy is not None:
        spy.wait(timeout=120)
        _print_profile(Path(PYSPY_DIR) / f"{profile}.txt")
    return {"rate": loaded["rate"], "cpu": cpu}


def _median(runs: list[dict[str, float]], key: str) -> float:
    return sorted(run[key] for run in runs)[len(runs) // 2]


def _print_profile(path: Path, top: int = 25) -> None:
    """Own-time shares by function (the leaf frame of each sample) from py-spy's raw output."""
    if not path.exists():
        return
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        own[leaf] = own.get(leaf, 0) + int(count)
        total += int(count)
    print(f"  py-spy {path.name}: {total} samples, own time", file=sys.stderr)
    for leaf, samples in sorted(own.items(), key=lambda item: -item[1])[:top]:
        print(f"    {samples / total:6.1%}  {leaf}", file=sys.stderr)


def _script(directory: str, name: str, body: bytes, token: str) -> Path:
    path = Path(directory) / f"{name}.lua"
    text = WRK_SCRIPT.format(
        body=orjson.dumps(body.decode()).decode(),
        authorization=orjson.dumps(f"Bearer {token}").decode(),
    )
    path.write_text(text)
    return path


def _without_cursors(value: object) -> object:
    if isinstance(value, dict):
        return {
            k: _without_cursors(v) for k, v in value.items() if k not in ("cursor", "endCursor")
        }
    if isinstance(value, list):
        return [_without_cursors(item) for item in value]
    return value


def _same_data(
    product: str, floor: str, body: bytes, token: str, first: int, *, cursors: bool = True
) -> None:
    headers = {
        "authorization": f"Bearer {token}",
        "host": "bench.example",
        "x-forwarded-proto": "https",
        "content-type": "application/json",
    }
    ours = httpx.post(product, content=body, headers=headers).json()
    theirs = httpx.post(floor, content=orjson.dumps({"first": first}), headers=headers).json()
    if not cursors:  # another version of the code may sign cursors another way
        ours, theirs = _without_cursors(ours), _without_cursors(theirs)
    if ours != theirs:
        raise AssertionError(f"the product and the floor answer differently for first: {first}")


def _floor_main(port: int) -> None:
    """`python -m bench.read_http floor PORT`: the floor as its own server process."""
    import uvicorn

    from bench._read_api_floor import Floor
    from core.settings import get_settings

    async def serve() -> None:
        settings = get_settings()
        runtime = Runtime.from_settings(settings)
        dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
        floor = Floor(runtime, dsn)
        await floor.start()
        config = uvicorn.Config(floor.app(), host="127.0.0.1", port=port, log_level="warning")
        await uvicorn.Server(config).serve()

    asyncio.run(serve())


async def _load(name: str, directory: str) -> tuple[str, str]:
    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=sqlalchemy_url(ADMIN_DSN, name),
        secret_key=secrets.token_urlsafe(48),
        encryption_keys=["k1:" + base64.b64encode(secrets.token_bytes(32)).decode()],
        dev_secrets_file=f"{directory}/secrets.json",
        allowed_hosts=["*"],
    )
    runtime = Runtime.from_settings(settings)
    try:
        connection = await asyncpg.connect(ADMIN_DSN)
        try:
            await connection.execute(f'GRANT CONNECT ON DATABASE "{name}" TO "{APP_ROLE}"')
        finally:
            await connection.close()
        data = await populate(
            runtime, _database_dsn(ADMIN_DSN, name), USERS, RESOURCES, OTHER_RESOURCES, CREDENTIALS
        )
        return settings.secret_key, access_token(runtime, data.user)
    finally:
        await runtime.close()


def main() -> list[dict[str, object]]:
    if shutil.which("wrk") is None:
        return [{"case": "skipped: wrk is not installed"}]
    name = asyncio.run(create_database(ADMIN_DSN))
    vault_key = "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            print(f"  loading {RESOURCES} resources …", file=sys.stderr, flush=True)
            secret_key, token = asyncio.run(_load(name, directory))
            database_url = sqlalchemy_url(_as_app_role(ADMIN_DSN), name)
            env = _server_env(database_url, secret_key, vault_key)
            product_port, floor_port, before_port = _free_port(), _free_port(), _free_port()
            source = str(ROOT)
            product_env = {**env, "PYTHONPATH": source}
            serve = [sys.executable, "-m", "stratograph", "serve", "--port", str(product_port)]
            floor = [sys.executable, "-m", "bench.read_http", "floor", str(floor_port)]
            processes.append(subprocess.Popen(serve, env=product_env, cwd=source))
            processes.append(subprocess.Popen(floor, env={**env, "PYTHONPATH": str(ROOT)}))
            if BEFORE_SOURCE:
                before = [sys.executable, "-m", "stratograph", "serve", "--port", str(before_port)]
                processes.append(
                    subprocess.Popen(
                        before, env={**env, "PYTHONPATH": BEFORE_SOURCE}, cwd=BEFORE_SOURCE
                    )
                )
                _wait_for(before_port, processes[2])
            _wait_for(product_port, processes[0])
            _wait_for(floor_port, processes[1])
            servers = [("stratograph serve", processes[0].pid, product_port, "/graphql")]
            if BEFORE_SOURCE:
                servers.append(
                    ("before (" + BEFORE_SOURCE + ")", processes[2].pid, before_port, "/graphql")
                )
            servers.append(("floor", processes[1].pid, floor_port, "/resources"))
            rows: list[dict[str, object]] = []
            for label, first in CASES:
                query = RESOURCES_QUERY.replace("first: 100", f"first: {first}")
                body = orjson.dumps({"query": query})
                floor_body = orjson.dumps({"first": first})
                url = {name: f"http://127.0.0.1:{port}{path}" for name, _, port, path in servers}
                scripts = {
                    name: _script(
                        directory,
                        f"s{n}-{first}",
                        floor_body if path == "/resources" else body,
                        token,
                    )
                    for n, (name, _, _, path) in enumerate(servers)
                }
                for index, (name, *_) in enumerate(servers[:-1]):
                    _same_data(url[name], url["floor"], body, token, first, cursors=index == 0)
                runs: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in servers}
                for round_ in range(ROUNDS):  # interleaved: load drifts hit every server alike
                    for name, pid, _, _ in servers:
                        profile = f"{name.split()[0]}-first-{first}" if round_ == 0 else None
                        runs[name].append(_loaded(pid, url[name], scripts[name], profile))
                floor_rate = _median(runs["floor"], "rate")
                floor_cpu = _median(runs["floor"], "cpu")
                for name, _, _, _ in servers:
                    single = _wrk(url[name], scripts[name], 1, max(3.0, SECONDS / 2))
                    rate, cpu = _median(runs[name], "rate"), _median(runs[name], "cpu")
                    rows.append(
                        {
                            "case": label,
                            "server": name,
                            "req/s": f"{rate:.0f}",
                            "× floor req/s": f"{rate / floor_rate:.2f}",
                            "CPU ms/req": f"{cpu:.2f}",
                            "× floor CPU": f"{cpu / floor_cpu:.2f}",
                            "1-conn p50/p99 ms": f"{single['p50']:.2f}/{single['p99']:.2f}",
                        }
                    )
                    print(f"  {rows[-1]}", file=sys.stderr, flush=True)
            return rows
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        asyncio.run(drop_database(ADMIN_DSN, name))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "floor":
        _floor_main(int(sys.argv[2]))
    else:
        for entry in main():
            print(entry)
