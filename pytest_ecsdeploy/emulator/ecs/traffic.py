"""The listener rules of ECS-native BLUE_GREEN, LINEAR and CANARY deployments: which target group each revision's
tasks register in, and the forward weights the engine writes to moto's ELBv2 as traffic moves.

A service's ``loadBalancers[].advancedConfiguration`` (botocore ecs AdvancedConfiguration) names the alternate
target group, the production listener rule, an optional test listener rule and the role ECS would use. Both
rules forward to the two target groups (AWS doc alb-resources-for-blue-green); the revision that serves
production registers its tasks in one of them, and each new revision (green) registers in the other, so the
target groups swap roles with every successful deployment (``ServiceRevision.resolvedConfiguration`` on ECS).
``Deployment.alternate`` says which one a deployment's tasks use.

As a deployment moves (``bluegreen.py``), :func:`write` rewrites the rules' forward weights in moto's ELBv2 (the
same change ModifyRule makes): the test rule sends green's requested test weight to green's target group at the
end of TEST_TRAFFIC_SHIFT, the production rule green's requested production weight at each production step, and
a rollback sends everything back to blue's. Weights are written as integer percents (ELBv2 takes 0-999):
green's percent rounded, at least 1 while it is above 0 and at most 99 while below 100, so a 0.5 % canary still
sends some traffic; blue's is the rest of 100. How ECS writes intermediate weights is unverified.

Checks (InvalidParameterException, ECS's type for a bad request; the messages are the engine's own): an
advancedConfiguration needs ``alternateTargetGroupArn``, ``productionListenerRule`` and ``roleArn`` (what
CloudFormation and the CDK require), an alternate target group other than the primary, target groups and rules
that ELBv2 holds. A rule that does not forward to both target groups is accepted, as ECS accepts it, and the
deployment then rolls back with ECS's reason (:data:`NOT_ASSOCIATED`).

Network Load Balancers: ``productionListenerRule`` and ``testListenerRule`` are then the ARNs of listeners, not
rules (botocore ecs AdvancedConfiguration), and the weights are written to the listener's default forward action
(DescribeListeners shows them). ECS "adds a 10 minute delay to the following lifecycle stages: PRE_SCALE_UP,
TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT" (AWS doc nlb-resources-for-blue-green): :data:`NLB_DELAYED`, played
by ``bluegreen.py`` in simulated time (``Timings.nlb_delay``) for a route whose load balancer is a network one
(``Route.network``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import moto_state
from .exceptions import InvalidParameterException

# What ECS reports when a rule misses one of the target groups (aws-samples summary of AWS's migration page).
NOT_ASSOCIATED = ("Service deployment rolled back because of invalid networking configuration. Both targetGroup and "
                  "alternateTargetGroup must be associated with the productionListenerRule or testListenerRule.")
NLB_DELAYED = ("PRE_SCALE_UP", "TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")  # AWS doc nlb-resources-for-blue-green
_REQUIRED = ("alternateTargetGroupArn", "productionListenerRule", "roleArn")


@dataclass(frozen=True)
class Route:
    """One load balancer entry with an advancedConfiguration: its primary and alternate target groups (ARNs), its
    production and test listener rules (ARNs; no test rule is None), and whether they belong to a Network Load
    Balancer (then they are listeners)."""

    primary: str
    alternate: str
    production_rule: str
    test_rule: str | None
    network: bool = False


def check(load_balancers: Any) -> None:
    """CreateService / UpdateService: the ``advancedConfiguration`` of each of ``loadBalancers``, as the module
    docstring says. Raises InvalidParameterException."""
    for balancer in load_balancers if isinstance(load_balancers, list) else []:
        advanced = balancer.get("advancedConfiguration") if isinstance(balancer, Mapping) else None
        if advanced is None:
            continue
        if not isinstance(advanced, Mapping):
            raise InvalidParameterException("advancedConfiguration must be an object.")
        for key in _REQUIRED:
            if not isinstance(advanced.get(key), str) or not advanced[key]:
                raise InvalidParameterException(f"advancedConfiguration.{key} must be specified.")
        primary, alternate = balancer.get("targetGroupArn"), advanced["alternateTargetGroupArn"]
        if not isinstance(primary, str) or not primary:
            raise InvalidParameterException("targetGroupArn must be specified with an advancedConfiguration.")
        if alternate == primary:
            raise InvalidParameterException("alternateTargetGroupArn must differ from targetGroupArn.")
        for arn in (primary, alternate):
            if not moto_state.elbv2_target_group_exists(arn):
                raise InvalidParameterException(f"The target group {arn} does not exist.")
        for key in ("productionListenerRule", "testListenerRule"):
            arn = advanced.get(key)
            if arn is None:
                continue
            found = moto_state.elbv2_listener_rule(str(arn)) if isinstance(arn, str) else None
            if found is None:
                raise InvalidParameterException(f"advancedConfiguration.{key}: the listener rule {arn} does not exist.")


def routes(load_balancers: list[dict[str, Any]]) -> tuple[Route, ...]:
    """The routes of the service's ``loadBalancers`` that have an advancedConfiguration (already :func:`check`-ed)."""
    found = []
    for balancer in load_balancers:
        advanced = balancer.get("advancedConfiguration")
        if advanced:
            production = str(advanced["productionListenerRule"])
            read = moto_state.elbv2_listener_rule(production)
            found.append(Route(str(balancer["targetGroupArn"]), str(advanced["alternateTargetGroupArn"]), production,
                               advanced.get("testListenerRule"), read is not None and read[0] == "network"))
    return tuple(found)


def target_group(balancer: Mapping[str, Any], alternate: bool) -> str | None:
    """The target group a task of a deployment registers in for one ``loadBalancers`` entry: the alternate one when
    the deployment uses it (``Deployment.alternate``) and the entry has one, else ``targetGroupArn``."""
    advanced = balancer.get("advancedConfiguration") or {}
    if alternate and advanced.get("alternateTargetGroupArn"):
        return str(advanced["alternateTargetGroupArn"])
    arn = balancer.get("targetGroupArn")
    return str(arn) if arn else None


def misconfigured(found: tuple[Route, ...]) -> str | None:
    """:data:`NOT_ASSOCIATED` when a listener rule of ``found`` does not forward to both target groups of its
    route (or is gone), else None."""
    for route in found:
        for rule in (route.production_rule, route.test_rule):
            if rule is None:
                continue
            read = moto_state.elbv2_listener_rule(rule)
            groups = {arn for arn, _ in read[1]} if read is not None else set()
            if not {route.primary, route.alternate} <= groups:
                return NOT_ASSOCIATED
    return None


def weights(percent: float) -> tuple[int, int]:
    """(green's, blue's) integer forward weights for green's requested ``percent`` (0.0-100.0).

    >>> weights(0.0), weights(0.5), weights(10.0), weights(99.8), weights(100.0)
    ((0, 100), (1, 99), (10, 90), (99, 1), (100, 0))
    """
    green = 0 if percent <= 0 else 100 if percent >= 100 else min(max(round(percent), 1), 99)
    return green, 100 - green


def write(found: tuple[Route, ...], green_alternate: bool, test: float, production: float) -> None:
    """Write green's requested ``test`` and ``production`` weights (0.0-100.0) to the rules of ``found``; green's
    tasks are in the alternate target groups when ``green_alternate``."""
    for route in found:
        green, blue = (route.alternate, route.primary) if green_alternate else (route.primary, route.alternate)
        for rule, percent in ((route.production_rule, production), (route.test_rule, test)):
            if rule is not None:
                to_green, to_blue = weights(percent)
                moto_state.elbv2_set_forward_weights(rule, {green: to_green, blue: to_blue})
