"""``ecsdeploy``: what is not a deployment scenario, with the plugin's configuration, environments, account guard
and masked output.

    ecsdeploy init     --env prod --service web [--dir deployments]   write the table, template and scenario
    ecsdeploy rollback --env prod --service web [--to web:41]         roll back, watched like a deployment
    ecsdeploy status   --env prod [--service web]                     revisions, deployments, failed tasks
    ecsdeploy logs     --env prod --service web [--task ID]           the containers' CloudWatch Logs

One module per command (``init``, ``rollback``, ``status``, ``logs``: ``add_arguments`` and ``run``), what they
share in ``common``. Exit codes are pytest's: 0 done, 1 failed, 4 a usage error (one sentence on stderr).
No pytest is imported here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from ..errors import ConfigError, EcsDeployError
from . import init, logs, rollback, status
from .common import EXIT_FAILED, EXIT_USAGE, Output

COMMANDS: dict[str, ModuleType] = {"init": init, "rollback": rollback, "status": status, "logs": logs}
DESCRIPTION = ("What is not a deployment scenario, with the pytest plugin's configuration, environments, account "
               "guard and masked output.")
EPILOG = """\
Exit codes: 0 done, 1 failed, 4 usage error. The configuration is DIR/ecsdeploy.toml, the same file the pytest
plugin reads (docs/configuration.md); deployments themselves run as pytest scenarios:
pytest deployments/ --env NAME --image-tag TAG [--plan].
"""


class _Parser(argparse.ArgumentParser):
    """argparse with pytest's exit code for a usage error (4, not 2) and its message as one sentence."""

    def error(self, message: str) -> NoReturn:
        sentence = message[0].upper() + message[1:] if message else message
        self.exit(EXIT_USAGE, f"{self.prog}: {sentence.rstrip('.')}; see {self.prog} --help.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ecsdeploy", description=DESCRIPTION, epilog=EPILOG,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser, required=True)
    for name, module in COMMANDS.items():
        sub = commands.add_parser(name, help=module.HELP, description=module.DESCRIPTION, epilog=EPILOG,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(module=module)
    return parser


def main(argv: Sequence[str] | None = None, out: Output | None = None) -> int:
    """Run one command; its exit code (see the module docstring)."""
    output = out or Output()
    args = build_parser().parse_args(argv)
    try:
        return int(args.module.run(args, output))
    except ConfigError as exc:
        output.error(args.command, str(exc))
        return EXIT_USAGE
    except EcsDeployError as exc:
        output.error(args.command, str(exc))
        return EXIT_FAILED
    except KeyboardInterrupt:
        output.error(args.command, "interrupted; what ECS was asked before this is not undone.")
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover - python -m runs __main__.py
    sys.exit(main())
