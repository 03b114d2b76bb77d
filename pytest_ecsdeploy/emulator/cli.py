"""``ecsdeploy-emulator``: the embedded local AWS as a standalone endpoint, until interrupted.

Example::

    $ ecsdeploy-emulator --port 4566 --seed deployments/seed.toml
    ecsdeploy-emulator: local AWS at http://127.0.0.1:4566 (account 123456789012, region us-east-1) ...
    $ AWS_ENDPOINT_URL=http://127.0.0.1:4566 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \\
      AWS_DEFAULT_REGION=us-east-1 aws ecs list-clusters

``--runner`` says how tasks run: ``auto`` (the default: on the local Docker engine when one answers, else
simulated), ``simulated`` or ``docker`` (refused when no engine answers); the banner says which it is.

The port answers only once the seed is applied (with Docker: images pushed, seeded services' tasks healthy): a
client that connects earlier waits for its first answer, so a CI job can poll the port and then deploy. The banner
is printed at that moment too.

SIGINT (Ctrl-C) or SIGTERM stops it cleanly with exit status 0. A bad argument or seed prints one line on
stderr and exits with 2; an endpoint that cannot start (the port is taken, no Docker engine for ``--runner
docker``, a seeded service that cannot run) exits with 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn

from .runners.base import RUNNER_NAMES

if TYPE_CHECKING:
    from .local_aws import LocalAWS

PROG = "ecsdeploy-emulator"
DEFAULT_PORT = 4566  # LocalStack's edge port: tools that default to it find the emulator there


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help.\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Run the embedded local AWS (moto plus the ECS rollout engine) as an endpoint until "
        "interrupted.",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port to listen on (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--seed", metavar="FILE", type=Path,
                        help="TOML file with the seed tables at top level (clusters, repositories, services...)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per wall second for task state changes (default 1.0)")
    parser.add_argument("--region", default="us-east-1", help="region the seed is created in (default us-east-1)")
    parser.add_argument("--runner", choices=RUNNER_NAMES, default="auto",
                        help="how tasks run: auto (the default: on the local Docker engine when one answers, else "
                        "simulated), simulated, or docker (real containers, an ECR registry on 127.0.0.1)")
    parser.add_argument("--var", action="append", default=[], metavar="KEY=VALUE",
                        help="a value for ${KEY} in seed templates (repeatable; the process environment "
                        "is used too)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ecsdeploy-emulator``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"argument --port: {args.port} is not a port number (0 to 65535)")
    if not args.speed > 0:
        parser.error(f"argument --speed: expected a positive number, got {args.speed}")
    variables = dict(os.environ)
    for item in args.var:
        key, sep, value = item.partition("=")
        if not sep or not key:
            parser.error(f"argument --var: expected KEY=VALUE, got '{item}'")
        variables[key] = value

    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s %(name)s: %(message)s")

    from ..errors import ConfigError, EcsDeployError
    from .local_aws import LocalAWS

    seed = None
    try:
        if args.seed is not None:
            from .seed import load_seed_file

            seed = load_seed_file(args.seed, variables)
        aws = LocalAWS(seed, port=args.port, host=args.host, speed=args.speed, region=args.region,
                       base_dir=args.seed.parent if args.seed else None, variables=variables, runner=args.runner)
    except ConfigError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            aws.start()
        except ConfigError as exc:
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 2
        except (RuntimeError, EcsDeployError) as exc:  # port taken, no Docker engine, a seed that cannot run
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 1
        try:
            print(_banner(aws), flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            aws.stop()
        print(f"{PROG}: stopped.", flush=True)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _banner(aws: LocalAWS) -> str:
    from .local_aws import FAKE_ACCESS_KEY_ID, FAKE_SECRET_ACCESS_KEY

    url = aws.endpoint_url
    if aws.runner_name == "docker":
        tasks = f"Tasks run on Docker; ECR's registry is {aws.registry_host or 'not running'}."
    else:
        tasks = "Tasks are simulated (their load balancer endpoints answer for them); --runner docker runs them."
    return "\n".join([
        f"{PROG}: local AWS at {url} (account {aws.account_id}, region {aws.region}); Ctrl-C stops it.",
        tasks,
        "Point the aws CLI or boto3 at it:",
        f"  export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID={FAKE_ACCESS_KEY_ID} "
        f"AWS_SECRET_ACCESS_KEY={FAKE_SECRET_ACCESS_KEY} AWS_DEFAULT_REGION={aws.region}",
        "  aws sts get-caller-identity",
        f"Control: POST {url}/_ecsdeploy/image-behaviour, POST {url}/_ecsdeploy/codedeploy-hook, "
        f"GET {url}/_ecsdeploy/state, POST {url}/_ecsdeploy/reset",
    ])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
