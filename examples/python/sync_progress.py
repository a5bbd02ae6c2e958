"""Log in to stratograph, add an AWS credential, start a sync and print its progress live.

Queries and mutations go over HTTP, the `syncJob` subscription over a WebSocket speaking
`graphql-transport-ws`; both through the `gql` client (`pip install 'gql[httpx,websockets]'`).

    export STRATOGRAPH_PASSWORD=... AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...
    python examples/python/sync_progress.py --url http://127.0.0.1:8000/graphql \\
        --email me@example.com

Secrets come from the environment, never from the command line (it shows in `ps`). The
operations live in `operations/*.graphql`, so they can be validated and put in the server's
trusted-documents allow-list (`stratograph build-trusted-documents examples/`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

OPERATIONS = Path(__file__).resolve().parent / "operations"
FINISHED = {"SUCCEEDED", "PARTIAL", "FAILED"}


def operation(file_name: str, /, **variables: Any) -> GraphQLRequest:
    """The operation in `operations/<file_name>.graphql`, sent exactly as written there."""
    text = (OPERATIONS / f"{file_name}.graphql").read_text(encoding="utf-8")
    return GraphQLRequest(text, variable_values=variables)


class ExampleError(Exception):
    """Something the user must fix; printed without a traceback."""


def payload_of(result: dict[str, Any], field: str) -> dict[str, Any]:
    payload: dict[str, Any] = result[field]
    if payload["userErrors"]:
        raise ExampleError(
            f"{field}: " + "; ".join(f"{e['code']}: {e['message']}" for e in payload["userErrors"])
        )
    return payload


async def http_call(url: str, request: GraphQLRequest, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with Client(transport=HTTPXAsyncTransport(url=url, headers=headers)) as session:
        result: dict[str, Any] = await session.execute(request)
        return result


async def log_in(url: str, email: str, password: str, full_name: str) -> str:
    """An access token; the account is created first if logging in fails."""
    login = await http_call(url, operation("LogIn", email=email, password=password))
    if login["logIn"]["userErrors"]:
        print(f"no account for {email} yet: signing up")
        signup = operation("SignUp", email=email, password=password, fullName=full_name)
        payload_of(await http_call(url, signup), "signUp")
        login = await http_call(url, operation("LogIn", email=email, password=password))
    token: str = payload_of(login, "logIn")["accessToken"]
    print(f"logged in as {email}")
    return token


async def credential_id(url: str, token: str, args: argparse.Namespace) -> str:
    """The id of the credential named `args.credential_name`, added if it does not exist."""
    listed = await http_call(url, operation("Credentials"), token)
    for credential in listed["credentials"]:
        if credential["name"] == args.credential_name:
            print(f"using credential {credential['name']} ({credential['fingerprint']})")
            return str(credential["id"])
    added = await http_call(
        url,
        operation(
            "AddAwsCredential",
            name=args.credential_name,
            defaultRegion=args.region,
            accessKeyId=os.environ["AWS_ACCESS_KEY_ID"],
            secretAccessKey=os.environ["AWS_SECRET_ACCESS_KEY"],
        ),
        token,
    )
    credential = payload_of(added, "addCredential")["credential"]
    print(f"added credential {credential['name']} ({credential['fingerprint']})")
    return str(credential["id"])


async def follow(ws_url: str, token: str, job_id: str) -> dict[str, Any]:
    """Print each progress change pushed by the server; return the job's last state."""
    transport = WebsocketsTransport(
        url=ws_url,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"Authorization": f"Bearer {token}"},
    )
    last: dict[str, Any] = {}
    async with Client(transport=transport) as session:
        async for result in session.subscribe(operation("SyncJobProgress", id=job_id)):
            last = result["syncJob"]
            print(f"sync {last['status']:<9} {last['progress']:6.1%}", flush=True)
            if last["status"] in FINISHED:
                break
    return last


async def run(args: argparse.Namespace) -> int:
    url: str = args.url
    ws_url = "ws" + url.removeprefix("http")  # http→ws, https→wss
    token = await log_in(url, args.email, os.environ["STRATOGRAPH_PASSWORD"], args.full_name)
    cred = await credential_id(url, token, args)
    started = await http_call(url, operation("StartSync", credentialId=cred), token)
    job = payload_of(started, "startSync")["jobs"][0]
    print(f"started sync job {job['id']}")
    final = await follow(ws_url, token, job["id"])
    print(
        f"sync {final['status']}: {final['added']} added, {final['updated']} updated, "
        f"{final['removed']} removed, {len(final['errors'])} error(s)"
    )
    for error in final["errors"]:
        print(f"  {error['scope']}: {error['code']}: {error['message']}")
    return 0 if final["status"] in {"SUCCEEDED", "PARTIAL"} else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    parser.add_argument("--email", required=True)
    parser.add_argument("--full-name", default="Example User")
    parser.add_argument("--credential-name", default="example-aws")
    parser.add_argument("--region", default="us-east-1")
    args = parser.parse_args(argv)
    missing = [
        name
        for name in ("STRATOGRAPH_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
        if not os.environ.get(name)
    ]
    if missing:
        print(f"set {', '.join(missing)} in the environment", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(args))
    except ExampleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
