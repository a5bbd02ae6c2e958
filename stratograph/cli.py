"""The `stratograph` command: the composition root that wires settings, database and server."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from core import heap
from core.settings import SettingsError, get_settings

Command = Callable[[argparse.Namespace], int]


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from stratograph.serving import uvicorn_options

    settings = get_settings()
    if settings.metrics_port and args.workers > 1:
        # Each worker process has its own registry and could not share the one port.
        print(
            "stratograph serve: METRICS_PORT needs --workers 1 (run one process per container "
            "or machine and scrape each)",
            file=sys.stderr,
        )
        return 2
    options = uvicorn_options(
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        graceful_timeout=args.graceful_timeout,
    )
    if args.workers == 1:
        # The app is built in this process: its modules are part of the heap settled here.
        import graph.app  # noqa: F401

        heap.settle()
    uvicorn.run("graph.app:create_app", factory=True, **options)
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from db.migrate import upgrade

    upgrade(get_settings().database_url)
    print("database is at the latest migration")
    return 0


def cmd_export_schema(_: argparse.Namespace) -> int:
    from graph.schema import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from stratograph.demo import main as demo_main

    return demo_main(args.workdir, args.host, args.port)


def cmd_build_trusted_documents(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from security.trusted_documents import (
        TrustedDocumentsError,
        build_manifest,
        operations_in_folder,
    )

    try:
        operations = operations_in_folder(Path(args.folder))
    except TrustedDocumentsError as exc:
        print(f"stratograph: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(build_manifest(operations), indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"{len(operations)} trusted operations written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import asyncio

    from providers.registry import preload
    from sync.worker import run_worker

    settings = get_settings()
    port = settings.metrics_port if args.metrics_port is None else args.metrics_port
    if port:
        # Workers serve no HTTP otherwise; Prometheus scrapes their job metrics here.
        from core.metrics import MetricsListener

        MetricsListener(args.metrics_host or settings.metrics_host, port).start()
    preload()
    heap.settle()
    asyncio.run(run_worker(settings, once=args.once))
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from stratograph.admin import create_admin

    return create_admin(
        get_settings(),
        email=args.email,
        full_name=args.full_name,
        password_stdin=args.password_stdin,
    )


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    import asyncio

    from stratograph.key_rotation import RotationError, describe, run_rotation

    try:
        report = asyncio.run(run_rotation(get_settings(), batch_size=args.batch_size))
    except RotationError as exc:
        print(f"stratograph rotate-keys: {exc}", file=sys.stderr)
        return 1
    print(describe(report))
    return 0 if report.complete else 1


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from stratograph.backup.commands import run_backup

    return run_backup(get_settings(), Path(args.output))


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from stratograph.backup.commands import run_restore

    return run_restore(get_settings(), Path(args.file), verify=args.verify)


def cmd_keys(_: argparse.Namespace) -> int:
    from stratograph.keys_command import run_keys

    return run_keys(get_settings())


def cmd_export(args: argparse.Namespace) -> int:
    import asyncio

    from graph.export.command import ExportError, run_export

    try:
        written = asyncio.run(
            run_export(
                get_settings(),
                email=args.email,
                fmt=args.format,
                where=args.where,
                output=args.output,
                dataset=args.dataset,
            )
        )
    except ExportError as exc:
        print(f"stratograph export: {exc}", file=sys.stderr)
        return 1
    if args.output:
        print(f"{written} bytes written to {args.output}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stratograph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP/WebSocket server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--graceful-timeout",
        type=int,
        default=30,
        help="seconds in-flight requests get to finish after SIGTERM",
    )
    serve.set_defaults(handler=cmd_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(
        handler=cmd_migrate
    )
    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(
        handler=cmd_export_schema
    )
    trusted = commands.add_parser(
        "build-trusted-documents",
        help="build the TRUSTED_DOCUMENTS_FILE allow-list from a folder of .graphql files",
    )
    trusted.add_argument("folder", help="searched recursively for *.graphql")
    trusted.add_argument("--output", "-o", help="write here instead of standard output")
    trusted.set_defaults(handler=cmd_build_trusted_documents)
    worker = commands.add_parser("worker", help="run sync jobs from the queue (several machines)")
    worker.add_argument(
        "--once", action="store_true", help="run every queued job, then exit (cron, demos)"
    )
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics on this port (0: off; default METRICS_PORT)",
    )
    worker.add_argument(
        "--metrics-host", default=None, help="address for --metrics-port (default METRICS_HOST)"
    )
    worker.set_defaults(handler=cmd_worker)

    demo = commands.add_parser(
        "demo", help="serve a demo against a local AWS stand-in (moto), synced, until Ctrl-C"
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--workdir", default=".demo", help="recreated on every run")
    demo.set_defaults(handler=cmd_demo)

    admin = commands.add_parser(
        "create-admin", help="create an administrator, or promote an existing account"
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--full-name", default="Administrator")
    admin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin instead of prompting",
    )
    admin.set_defaults(handler=cmd_create_admin)

    export = commands.add_parser(
        "export",
        help="write a user's resources or findings as CSV or NDJSON (what GET /export/… serves)",
    )
    export.add_argument("dataset", choices=["resources", "findings"], help="what to export")
    export.add_argument("--email", required=True, help="whose inventory (read as that user)")
    export.add_argument("--format", choices=["csv", "ndjson"], default="csv")
    export.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a filter, named as the endpoint's query parameters (type=VM, tag=env=prod, …)",
    )
    export.add_argument("--output", "-o", help="write to this file (mode 0600), not stdout")
    export.set_defaults(handler=cmd_export)

    rotate = commands.add_parser(
        "rotate-keys", help="re-encrypt every credential with the primary vault key (resumable)"
    )
    rotate.add_argument("--batch-size", type=int, default=500, help="credentials per transaction")
    rotate.set_defaults(handler=cmd_rotate_keys)

    backup = commands.add_parser(
        "backup", help="write an encrypted, consistent backup of the database (BACKUP_KEY)"
    )
    backup.add_argument("--output", "-o", required=True, help="the backup file to create")
    backup.set_defaults(handler=cmd_backup)
    restore = commands.add_parser(
        "restore", help="restore a backup into DATABASE_URL, or --verify it in a scratch database"
    )
    restore.add_argument("file", help="a file written by `stratograph backup`")
    restore.add_argument(
        "--verify",
        action="store_true",
        help="restore into a scratch database, migrate it, open every credential, report",
    )
    restore.set_defaults(handler=cmd_restore)
    commands.add_parser(
        "keys", help="the signing and vault key rings with their ages and use"
    ).set_defaults(handler=cmd_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    try:
        from core.logs import configure_logging

        settings = get_settings()
        configure_logging(settings.log_level, json_output=settings.is_production)
        return handler(args)
    except (SettingsError, ValidationError) as exc:
        print(f"stratograph: invalid settings: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
