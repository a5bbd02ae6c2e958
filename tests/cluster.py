"""Several stratograph processes on this machine, sharing one PostgreSQL database and Redis."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.databases import APP_ROLE, as_app_role, async_url

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Cluster:
    """Processes started with one environment; every one is stopped by `close`."""

    env: dict[str, str]
    workdir: Path
    processes: list[Process] = field(default_factory=list)

    def start(self, name: str, *args: str, module: str = "stratograph") -> Process:
        log = self.workdir / f"{name}.log"
        with log.open("wb") as sink:
            popen = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                cwd=REPO,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def serve(self, name: str) -> Process:
        port = free_port()
        process = self.start(name, "serve", "--port", str(port), "--graceful-timeout", "5")
        process.port = port
        return process

    async def wait_ready(self, process: Process, deadline_seconds: float = 30) -> None:
        deadline = time.monotonic() + deadline_seconds
        async with httpx.AsyncClient() as client:
            while True:
                assert process.popen.poll() is None, f"{process.name} exited:\n{process.output()}"
                try:
                    if (await client.get(process.url + "/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"{process.name} never ready"
                await asyncio.sleep(0.1)

    def close(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.popen.wait(15)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(5)


def cluster_env(database_url: str, redis_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ENCRYPTION_KEYS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "DEV_SECRETS_FILE": str(workdir / "secrets.json"),
        "RATE_LIMIT_STORAGE_URL": redis_url,
        "ALLOWED_HOSTS": "*",
        "TRUSTED_PROXIES": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


class ClusterDatabase:
    """A fresh PostgreSQL database migrated by `stratograph migrate`, used as the app role."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.name = f"stratograph_cluster_{uuid.uuid4().hex[:10]}"

    @property
    def admin_url(self) -> str:
        return async_url(self.admin_dsn, self.name)

    @property
    def app_url(self) -> str:
        return async_url(as_app_role(self.admin_dsn), self.name)

    async def create(self) -> None:
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            await connection.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await connection.close()

    def migrate(self, env: dict[str, str]) -> None:
        """`stratograph migrate` as the owner, as a release step would."""
        subprocess.run(
            [sys.executable, "-m", "stratograph", "migrate"],
            cwd=REPO,
            env={**env, "DATABASE_URL": self.admin_url},
            check=True,
            capture_output=True,
        )

    async def grant_app_role(self) -> None:
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            await connection.execute(f'GRANT CONNECT ON DATABASE "{self.name}" TO "{APP_ROLE}"')
        finally:
            await connection.close()

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        dsn = self.admin_url.replace("postgresql+asyncpg", "postgresql")
        connection = await asyncpg.connect(dsn)
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    async def drop(self) -> None:
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await connection.close()
