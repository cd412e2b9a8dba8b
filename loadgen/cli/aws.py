"""``loadgen aws ...``: AWS helper commands (the main CLI routes ``aws`` here).

Output goes to stdout, problems to stderr as one line; exit 0 on success and 2 when
credentials, permissions, the region or the command line are wrong (SPEC §3).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from loadgen.core import extras

__all__ = ["aws_main"]

_PROG = "loadgen aws"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=_PROG, description="AWS helpers for loadgen.")
    commands = parser.add_subparsers(dest="command", required=True)
    find = commands.add_parser(
        "discover",
        help="list API Gateway APIs, Cognito user pools and Lambda function URLs",
    )
    find.add_argument("--region", help="AWS region (default: AWS_REGION / the profile's)")
    find.add_argument("--profile", help="AWS shared-config profile")
    find.add_argument("--endpoint-url", help="send every call here (moto, LocalStack, a proxy)")
    find.add_argument("--write-env", metavar="FILE", help="set the found values in this .env")
    return parser


def _region(asked: str | None, profile: str | None) -> str | None:
    if asked:
        return asked
    env = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if env:
        return env
    import aioboto3

    region: str | None = aioboto3.Session(profile_name=profile).region_name
    return region


async def _discover(args: argparse.Namespace, region: str) -> int:
    from loadgen.edge.aws.clients import AwsClients
    from loadgen.edge.aws.discover import DiscoverError, discover, write_env

    clients = AwsClients(region=region, endpoint_url=args.endpoint_url, profile=args.profile)
    try:
        inventory = await discover(clients)
    except DiscoverError as exc:
        sys.stderr.write(f"{_PROG} discover: {exc}\n")
        return 2
    finally:
        await clients.aclose()
    sys.stdout.write("\n".join(inventory.lines()) + "\n")
    if args.write_env:
        path = Path(args.write_env)
        values = inventory.env()
        write_env(path, values)
        sys.stdout.write(f"wrote {', '.join(values)} to {path}\n")
    return 0


def aws_main(argv: list[str]) -> int:
    """Run ``loadgen aws ARGV``; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage line
        return 0 if exc.code == 0 else 2
    module = extras.missing("aws")
    if module is not None:
        sys.stderr.write(
            f"{_PROG}: needs the aws extra ({module} is not installed) — "
            f"{extras.install_hint('aws')}\n"
        )
        return 2
    try:
        region = _region(args.region, args.profile)
    except Exception as exc:  # e.g. a profile name that does not exist
        sys.stderr.write(f"{_PROG}: {type(exc).__name__}: {exc}\n")
        return 2
    if not region:
        sys.stderr.write(f"{_PROG}: no region; pass --region or set AWS_REGION\n")
        return 2
    return asyncio.run(_discover(args, region))
