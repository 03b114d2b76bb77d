"""``ecsdeploy rollback``: put a service back on the revision before the one it runs (or the one named), watched
like a deployment.

The revision to return to is learned from ECS, never from memory (a run that was killed has none):

1. ``--to family:revision`` (or an ARN) when given;
2. else, while a deployment of another revision is still listed beside the PRIMARY one (a rollout in progress
   or FAILED), the revision of the newest such deployment: what served before the rollout;
3. else the family's highest ACTIVE revision below the running one (ListTaskDefinitions).

The rollout itself is ``ecs_service.deploy(supersede=True)``: the same pre-checks (account guard, cluster and
service ACTIVE, the revision ACTIVE), except that a rollout still in progress is replaced rather than waited
for (that is what a rollback is for), then UpdateService, the same watch (service events and task state changes
as they arrive) and post-checks. A rollback that fails is not rolled back again. A service whose
``deploymentConfiguration.strategy`` is BLUE_GREEN, LINEAR or CANARY is rolled back the strategy's way: while its
current service deployment still goes, through it (ContinueServiceDeployment ROLLBACK at a PAUSE hook awaiting
action, else StopServiceDeployment ROLLBACK), watched to ROLLBACK_SUCCESSFUL
(``EcsService.roll_back_service_deployment``); once it ended, the previous revision goes out as a new service
deployment, followed stage by stage (``actions/lifecycle.py``), its bake times added to the time-out unless
``--wait-timeout`` is given. A service on the CODE_DEPLOY controller is rolled back through CodeDeploy
(``actions/codedeploy.py``): a deployment still going is stopped with its rollback (StopDeployment) and watched
until production is back on the original task set; otherwise the previous revision (rules 1 and 3, from the
PRIMARY task set) goes out as a new CodeDeploy deployment, continued at Ready. Another controller (EXTERNAL) is
refused with one sentence.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..actions.codedeploy import CODE_DEPLOY, CodeDeployPath, deployment_in_progress, running_task_definition
from ..actions.lifecycle import SHIFTING, strategy_of
from ..actions.service import EcsService
from ..actions.service_state import Host
from ..actions.watch import primary_deployment, running_revision, service_deployments
from ..arns import parse_family_revision, short_revision
from ..aws import pages
from ..context import Hooks
from ..errors import ActionError, ConfigError, NotSupported, RolloutFailed
from .common import EXIT_FAILED, EXIT_OK, Output, add_common_arguments, open_run

if TYPE_CHECKING:
    from ..aws import ClientFactory

HELP = "roll a service back to the revision before the one it runs, or to --to family:revision, and watch it"
DESCRIPTION = """\
Roll the service back: to --to family:revision when given, else to the revision that served before a rollout
still listed beside it, else to the family's highest ACTIVE revision below the running one (learned from ECS).
It runs like a deployment: the account guard and the other pre-checks, UpdateService, the rollout watched to
its end, the post-checks. A BLUE_GREEN, LINEAR or CANARY service is rolled back through its strategy: a service
deployment still going is rolled back through its pause or stopped with a rollback; else a new service deployment
of that revision, printed stage by stage, its bake times added to the default time-out. A CODE_DEPLOY service's
deployment in progress is stopped with its rollback; otherwise the revision goes out as a new CodeDeploy
deployment. Exit 0 when the service runs the revision steadily, 1 when it does not.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, service="required")
    parser.add_argument("--to", metavar="FAMILY:REVISION",
                        help="the exact revision to return to ('web:41' or its ARN); default: the one before")
    parser.add_argument("--wait-timeout", type=float, metavar="SECONDS",
                        help="seconds the rollback may take (default: the environment's wait_timeout, plus the "
                             "bake times of a BLUE_GREEN, LINEAR or CANARY service)")


def run(args: argparse.Namespace, out: Output) -> int:
    wanted = parse_family_revision(args.to) if args.to is not None else None
    if args.to is not None and (wanted is None or wanted.revision is None):
        raise ConfigError(f"--to expects an exact revision ('web:41' or its ARN), got '{args.to}'.")
    if args.wait_timeout is not None and not args.wait_timeout > 0:
        raise ConfigError(f"--wait-timeout expects a positive number of seconds, got {args.wait_timeout:g}.")
    with open_run(args, wait_timeout=args.wait_timeout) as the_run:
        ctx = the_run.context(args.service, out, Hooks())
        ecs_service = EcsService(ctx)
        service = ecs_service.describe()
        controller = (service.get("deploymentController") or {}).get("type", "ECS")
        if controller not in ("ECS", CODE_DEPLOY):
            raise NotSupported(f"service '{ecs_service.name}' uses the {controller} deployment controller; "
                               f"ecsdeploy rollback handles the ECS and CODE_DEPLOY deployment controllers.")
        going = (deployment_in_progress(ctx.aws, service, who=f"service '{ecs_service.name}'")
                 if controller == CODE_DEPLOY and args.to is None else None)
        if going is not None:
            return _stop_code_deploy(ecs_service, service, going, out)
        current = running_revision(service) or running_task_definition(service)
        strategy = strategy_of(service)
        if strategy in SHIFTING:
            try:
                stopped = ecs_service.roll_back_service_deployment(args.to)
            except RolloutFailed as exc:
                out.error("rollback", str(exc).splitlines()[0])
                return EXIT_FAILED
            if stopped is not None:
                out.line(f"rolled service {ecs_service.name} back from {short_revision(stopped.previous_revision)} "
                         f"to {short_revision(stopped.revision)} (service deployment {stopped.deployment_id} "
                         f"ROLLBACK_SUCCESSFUL in {stopped.duration:.1f} s).")
                return EXIT_OK
        target = args.to or previous_revision(ctx.aws, service, who=f"service '{ecs_service.name}'")
        how = f" (a new {strategy} service deployment, followed stage by stage)" if strategy in SHIFTING else ""
        if controller == CODE_DEPLOY:
            how = " (a new CodeDeploy deployment, continued at Ready)"
        out.line(f"rolling service {ecs_service.name} back: {short_revision(current)} -> {short_revision(target)}{how}")
        # deploy() is the one write path, so whatever guards a deployment (the account guard, a per-service
        # lease) guards a rollback too.
        try:
            rollout = ecs_service.deploy(target, supersede=True)
        except RolloutFailed:
            failed = ecs_service.rollout
            reason = failed.reason if failed is not None else "the rollout failed"
            out.error("rollback", f"the rollback of service {ecs_service.name} to {short_revision(target)} "
                                  f"failed: {reason}.")
            return EXIT_FAILED
        if rollout.is_unchanged:
            out.line(f"service {ecs_service.name} already runs {short_revision(rollout.revision)} steadily; "
                     f"nothing was changed.")
        else:
            out.line(f"rolled service {ecs_service.name} back from {short_revision(current)} to "
                     f"{short_revision(rollout.revision)} (deployment {rollout.deployment_id} completed in "
                     f"{rollout.duration:.1f} s).")
        return EXIT_OK


def _stop_code_deploy(ecs_service: EcsService, service: Mapping[str, Any], going: tuple[str, str | None],
                      out: Output) -> int:
    """Roll a CODE_DEPLOY service back while CodeDeploy deployment ``going`` (id, task definition) still goes on:
    StopDeployment with its rollback, watched until production is back on the revision it ran before."""
    (deployment_id, revision), current = going, running_task_definition(service)
    before = current if current != revision else next(
        (t.get("taskDefinition") for t in service.get("taskSets") or [] if t.get("taskDefinition") != revision), None)
    out.line(f"rolling service {ecs_service.name} back: stopping CodeDeploy deployment {deployment_id} of "
             f"{short_revision(revision)} with its rollback to {short_revision(before)}")
    summary = CodeDeployPath(Host(ecs_service)).stop(deployment_id, revision, before)
    rollback = ecs_service.ctx.record.rollback
    if rollback is None or rollback.outcome != "completed":
        out.error("rollback", f"the rollback of service {ecs_service.name} failed: {summary}.")
        return EXIT_FAILED
    out.line(f"rolled service {ecs_service.name} back: {summary}.")
    return EXIT_OK


def previous_revision(aws: ClientFactory, service: Mapping[str, Any], *, who: str) -> str:
    """The revision to roll ``service`` (a DescribeServices entry) back to, by the rules of the module docstring;
    ActionError when there is none."""
    primary = primary_deployment(service)
    current = running_revision(service) or running_task_definition(service)
    others = [d for d in service_deployments(service)
              if d is not primary and d.revision and d.revision != current and d.status == "ACTIVE"]
    if others:
        newest = max(others, key=lambda d: d.created_at or 0.0)
        assert newest.revision is not None
        return newest.revision
    parsed = parse_family_revision(current)
    if current is None or parsed is None or parsed.revision is None:
        raise ActionError(f"{who} runs no task definition to roll back from.")
    family = parsed.family
    earlier = [(p.revision, str(arn)) for page in pages(
        aws, "ecs", "list_task_definitions", f"list the ACTIVE revisions of family '{family}'", who=who,
        familyPrefix=family, status="ACTIVE", sort="DESC")
        for arn in page.get("taskDefinitionArns") or []
        if (p := parse_family_revision(arn)) is not None and p.family == family and p.revision is not None
        and p.revision < parsed.revision]
    if not earlier:
        raise ActionError(f"{who} runs {short_revision(current)} and family '{family}' has no ACTIVE revision "
                          f"before it; name one with --to FAMILY:REVISION.")
    return max(earlier)[1]
