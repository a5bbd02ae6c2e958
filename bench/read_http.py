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
BENCH_PRODUCT_SOURCE names another checkout of the code to serve as the product (a "before").
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
PRODUCT_SOURCE = ENV("BENCH_PRODUCT_SOURCE", "")
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
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
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


def _measure(label: str, pid: int, url: str, script: Path) -> dict[str, object]:
    before = _cpu_seconds(pid)
    loaded = _wrk(url, script, CONNECTIONS, SECONDS)
    cpu = (_cpu_seconds(pid) - before) / loaded["requests"] * 1000
    single = _wrk(url, script, 1, max(3.0, SECONDS / 2))
    return {
        "server": label,
        "req/s": f"{loaded['rate']:.0f}",
        "CPU ms/req": f"{cpu:.2f}",
        "1-conn p50/p99 ms": f"{single['p50']:.2f}/{single['p99']:.2f}",
        "_rate": loaded["rate"],
        "_cpu": cpu,
    }


def _script(directory: str, name: str, body: bytes, token: str) -> Path:
    path = Path(directory) / f"{name}.lua"
    text = WRK_SCRIPT.format(
        body=orjson.dumps(body.decode()).decode(),
        authorization=orjson.dumps(f"Bearer {token}").decode(),
    )
    path.write_text(text)
    return path


def _same_data(product: str, floor: str, body: bytes, token: str, first: int) -> None:
    headers = {
        "authorization": f"Bearer {token}",
        "host": "bench.example",
        "x-forwarded-proto": "https",
        "content-type": "application/json",
    }
    ours = httpx.post(product, content=body, headers=headers).json()
    theirs = httpx.post(floor, content=orjson.dumps({"first": first}), headers=headers).json()
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
            url = sqlalchemy_url(_as_app_role(ADMIN_DSN), name)
            env = _server_env(url, secret_key, vault_key)
            product_port, floor_port = _free_port(), _free_port()
            source = PRODUCT_SOURCE or str(ROOT)
            product_env = {**env, "PYTHONPATH": source}
            serve = [sys.executable, "-m", "stratograph", "serve", "--port", str(product_port)]
            floor = [sys.executable, "-m", "bench.read_http", "floor", str(floor_port)]
            processes.append(subprocess.Popen(serve, env=product_env, cwd=source))
            processes.append(subprocess.Popen(floor, env={**env, "PYTHONPATH": str(ROOT)}))
            _wait_for(product_port, processes[0])
            _wait_for(floor_port, processes[1])
            rows: list[dict[str, object]] = []
            for label, first in CASES:
                query = RESOURCES_QUERY.replace("first: 100", f"first: {first}")
                body = orjson.dumps({"query": query})
                product = f"http://127.0.0.1:{product_port}/graphql"
                by_hand = f"http://127.0.0.1:{floor_port}/resources"
                _same_data(product, by_hand, body, token, first)
                ours = _measure("stratograph serve", processes[0].pid, product, _script(
                    directory, f"product{first}", body, token
                ))
                theirs = _measure("floor", processes[1].pid, by_hand, _script(
                    directory, f"floor{first}", orjson.dumps({"first": first}), token
                ))
                for row in (ours, theirs):
                    rows.append({"case": label, **{k: v for k, v in row.items() if k[0] != "_"}})
                rows[-2]["× floor req/s"] = f"{float(ours['_rate']) / float(theirs['_rate']):.2f}"
                rows[-2]["× floor CPU"] = f"{float(ours['_cpu']) / float(theirs['_cpu']):.2f}"
                print(f"  {rows[-2]}\n  {rows[-1]}", file=sys.stderr, flush=True)
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
