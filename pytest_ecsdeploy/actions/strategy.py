"""What a BLUE_GREEN, LINEAR or CANARY service needs before ``deploy()`` writes, and where its test listener answers.

:func:`configuration_checks` reads only the DescribeServices entry the pre-checks already have (no call): the
``until`` value, ``bakeTimeInMinutes``, no PAUSE hook at the two traffic-shift stages, the alternate target group
and the role of each load balancer, for ``until="test_traffic"`` a PAUSE hook at POST_TEST_TRAFFIC_SHIFT and a
test listener rule, for ``until="production_step"`` a PAUSE hook at PRE_PRODUCTION_TRAFFIC_SHIFT (ECS pauses there
before each production step). :func:`check_until` and :func:`check_step` check ``until`` before anything is
written. :func:`listener_checks` adds one ELBv2 call per kind of production ``listener``: DescribeRules of every
production listener rule (ALB), DescribeListeners of every production listener (NLB), to see that each forwards to
both target groups. Each check is ``(name, passed, detail)``; a failed detail says what to add. Sources:
botocore ecs DeploymentConfiguration.bakeTimeInMinutes ("You must provide this parameter when you use the
BLUE_GREEN deployment strategy"), DeploymentLifecycleHook.lifecycleStages ("PAUSE hooks cannot be configured at
TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT"), AdvancedConfiguration; AWS doc migrate-code-deploy-to-ecs-blue-green
("both target groups … must be associated with production listener rules").

:func:`url_of_test_listener` finds the URL of the test listener (``smoke.http(traffic="test")`` without a
``test_url`` key): the listener the test rule belongs to (its ARN is the rule's, less the rule's id),
DescribeListeners for its protocol and port, DescribeLoadBalancers for its DNS name. A test rule that matches on a
host or a header needs ``test_url`` (the URL alone does not reach it)::

    url_of_test_listener(aws, service, who="smoke")     # 'http://web-alb-123.eu-west-1.elb.amazonaws.com:8080'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..arns import target_group_name
from ..aws import ClientFactory, call
from ..errors import ActionError, ConfigError
from .lifecycle import PAUSES, SHIFTING, STEP_STAGE, next_step, strategy_of

__all__ = ["CONTINUE_UNTIL", "UNTIL", "check_step", "check_until", "configuration_checks", "listener_checks",
           "url_of_test_listener"]

#: What ``deploy(until=...)`` takes besides "completed" (the default, to the end):
#: "test_traffic" returns at a PAUSE hook at POST_TEST_TRAFFIC_SHIFT (green serves test traffic only),
#: "production_step" at a PAUSE hook at PRE_PRODUCTION_TRAFFIC_SHIFT (before each production step of LINEAR and
#: CANARY, before the one of BLUE_GREEN), "traffic_shifted" once production traffic is all on the new revision.
UNTIL = ("test_traffic", "production_step", "traffic_shifted")
#: What ``continue_deployment(until=...)`` takes besides "completed": the next production-step pause, or the shift.
CONTINUE_UNTIL = ("production_step", "traffic_shifted")
SHIFT_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")  # Lambda hooks only (botocore ecs)
Result = tuple[str, bool, str]


def check_until(until: object, method: str = "deploy") -> str | None:
    """``until`` when it is one of :data:`UNTIL` (of :data:`CONTINUE_UNTIL` for ``method`` "continue_deployment");
    None for None or ``"completed"`` (to the end, the default); ActionError otherwise."""
    if until is None or until == "completed":
        return None
    allowed = CONTINUE_UNTIL if method == "continue_deployment" else UNTIL
    if until in allowed:
        return until  # type: ignore[return-value]
    raise ActionError(f"{method}(until=...) expects 'completed', {', '.join(repr(u) for u in allowed[:-1])} or "
                      f"{allowed[-1]!r}, got {until!r}.")


def check_step(service: Mapping[str, Any], stage: str, weight: float, until: str | None) -> None:
    """Before ``continue_deployment(until="production_step")`` continues a pause at ``stage`` with green's
    production weight at ``weight`` (0-100): ActionError when that pause is before a production step and the step
    is the last (100 %), as no pause follows it (a pause at POST_TEST_TRAFFIC_SHIFT comes before the first one's)."""
    if until != "production_step" or stage != STEP_STAGE or next_step(service, weight) < 100.0:
        return
    raise ActionError(f"service '{service.get('serviceName', '?')}': the next production step moves all production "
                      f"traffic ({weight:g}% -> 100%) and no {STEP_STAGE} pause follows it; call "
                      f"continue_deployment() or continue_deployment(until='traffic_shifted').")


def _balancers(service: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [lb for lb in service.get("loadBalancers") or [] if lb.get("targetGroupArn")]


def _pause_stages(config: Mapping[str, Any]) -> set[str]:
    return {stage for hook in config.get("lifecycleHooks") or [] if hook.get("targetType") == "PAUSE"
            for stage in hook.get("lifecycleStages") or []}


def configuration_checks(service: Mapping[str, Any], until: str | None) -> list[Result]:
    """The checks of ``service`` (a DescribeServices entry) for its strategy and ``until``; none for a rolling
    service deployed to the end."""
    name = service.get("serviceName", "?")
    strategy = strategy_of(service)
    if strategy not in SHIFTING:
        if until is None:
            return []
        return [("strategy pauses or shifts traffic", False,
                 f"deploy(until='{until}') needs a BLUE_GREEN, LINEAR or CANARY service; service '{name}' uses "
                 f"{strategy}: set deploymentConfiguration.strategy")]
    config = service.get("deploymentConfiguration") or {}
    results: list[Result] = []
    bake = config.get("bakeTimeInMinutes")
    # Required for BLUE_GREEN (botocore); for LINEAR and CANARY no source says so, and ECS's default applies.
    results.append(("bakeTimeInMinutes set", bake is not None or strategy != "BLUE_GREEN",
                    f"bakeTimeInMinutes {bake}" if bake is not None else
                    f"bakeTimeInMinutes not set: ECS's default for {strategy}" if strategy != "BLUE_GREEN" else
                    f"service '{name}' has no deploymentConfiguration.bakeTimeInMinutes; set it (0-1440)"))
    wrong = sorted(_pause_stages(config) & set(SHIFT_STAGES))
    results.append(("no PAUSE hook at a traffic-shift stage", not wrong,
                    f"PAUSE hooks at {', '.join(wrong)}; move them to POST_TEST_TRAFFIC_SHIFT or "
                    f"PRE_PRODUCTION_TRAFFIC_SHIFT (those stages take Lambda hooks only)" if wrong else
                    f"PAUSE hooks at {', '.join(sorted(_pause_stages(config))) or 'no stage'}"))
    balancers = _balancers(service)
    missing = [f"{key} on the load balancer of target group {target_group_name(lb['targetGroupArn'])}"
               for lb in balancers for key in ("alternateTargetGroupArn", "roleArn")
               if not (lb.get("advancedConfiguration") or {}).get(key)]
    results.append(("alternate target group and role", not missing,
                    f"add advancedConfiguration {'; '.join(missing)}" if missing else
                    f"{len(balancers)} load balancer(s) with an alternate target group and a role" if balancers else
                    "no load balancer: ECS shifts no traffic (headless)"))
    if until in PAUSES:
        stage = PAUSES[until]
        hooks = config.get("lifecycleHooks") or []
        pause = [h for h in hooks if h.get("targetType") == "PAUSE" and stage in (h.get("lifecycleStages") or [])]
        action = ", ".join(sorted({str((h.get("timeoutConfiguration") or {}).get("action", "ROLLBACK"))
                                   for h in pause}))
        per_step = " before each production step" if stage == STEP_STAGE else ""
        results.append((f"PAUSE hook at {stage}", bool(pause),
                        f"a PAUSE hook at {stage}{per_step} (on time-out: {action})" if pause else
                        f"deploy(until='{until}') needs a PAUSE lifecycle hook at {stage}; add "
                        f"{{targetType = PAUSE, lifecycleStages = [{stage}]}} to the service's "
                        f"deploymentConfiguration.lifecycleHooks"))
    if until == "test_traffic":
        untested = [target_group_name(lb["targetGroupArn"]) for lb in balancers
                    if not (lb.get("advancedConfiguration") or {}).get("testListenerRule")]
        results.append(("test listener rule", not untested,
                        f"add advancedConfiguration testListenerRule on the load balancer of target group "
                        f"{', '.join(untested)}, so that the new revision gets test traffic" if untested else
                        f"{len(balancers)} test listener rule(s)" if balancers else
                        "no load balancer: no test listener (the pause still comes before production)"))
    return results


def _forwarded(actions: list[Mapping[str, Any]]) -> set[str]:
    """The target groups ``actions`` (an ELBv2 rule's or listener's) forward to."""
    groups: set[str] = set()
    for action in actions:
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn"):
            groups.add(str(action["TargetGroupArn"]))
        groups |= {str(g["TargetGroupArn"]) for g in (action.get("ForwardConfig") or {}).get("TargetGroups") or []}
    return groups


def listener_checks(aws: ClientFactory, service: Mapping[str, Any], *, who: str) -> list[Result]:
    """Each production listener rule (or NLB listener) forwards to both the target group and the alternate one;
    nothing (no call) for a service without them."""
    wanted: dict[str, set[str]] = {}
    for lb in _balancers(service):
        advanced = lb.get("advancedConfiguration") or {}
        rule = advanced.get("productionListenerRule")
        if rule and advanced.get("alternateTargetGroupArn"):
            wanted.setdefault(str(rule), set()).update({str(lb["targetGroupArn"]),
                                                        str(advanced["alternateTargetGroupArn"])})
    if not wanted:
        return []
    forwards: dict[str, set[str]] = {}
    rules = [arn for arn in wanted if ":listener-rule/" in arn]
    listeners = [arn for arn in wanted if ":listener-rule/" not in arn]
    if rules:
        answer = call(aws, "elbv2", "describe_rules", "read the production listener rules", who=who, RuleArns=rules)
        forwards.update({str(r["RuleArn"]): _forwarded(r.get("Actions") or []) for r in answer.get("Rules") or []})
    if listeners:
        answer = call(aws, "elbv2", "describe_listeners", "read the production listeners", who=who,
                      ListenerArns=listeners)
        forwards.update({str(x["ListenerArn"]): _forwarded(x.get("DefaultActions") or [])
                         for x in answer.get("Listeners") or []})
    problems = []
    for arn, groups in wanted.items():
        absent = sorted(target_group_name(g) for g in groups - forwards.get(arn, set()))
        if absent:
            problems.append(f"{arn.rsplit('/', 1)[-1]} does not forward to {', '.join(absent)}")
    return [("both target groups on the production listener rule", not problems,
             f"production listener rule {'; '.join(problems)}: add both target groups to its forward action "
             f"(weights 100 and 0)" if problems else f"{len(wanted)} production listener rule(s) forward to both")]


def url_of_test_listener(aws: ClientFactory, service: Mapping[str, Any], *, who: str) -> str:
    """The base URL of ``service``'s test listener (``scheme://dns-name[:port]``); ConfigError when the service
    has no test listener rule to derive it from."""
    name = service.get("serviceName", "?")
    rules = [str((lb.get("advancedConfiguration") or {}).get("testListenerRule")) for lb in _balancers(service)
             if (lb.get("advancedConfiguration") or {}).get("testListenerRule")]
    if not rules:
        raise ConfigError(f"service '{name}' has no test listener rule to send test traffic through; set test_url "
                          f"in [services.{name}] of ecsdeploy.toml, or add a testListenerRule to its load balancer.")
    rule = rules[0]
    listener = rule.replace(":listener-rule/", ":listener/").rsplit("/", 1)[0] if ":listener-rule/" in rule else rule
    return url_of_listener(aws, str(name), listener, who=who)


def url_of_listener(aws: ClientFactory, name: str, listener: str, *, who: str) -> str:
    """The base URL (``scheme://dns-name[:port]``) of the ELBv2 listener ``listener`` (an ARN) that service
    ``name`` takes test traffic through, from DescribeListeners and DescribeLoadBalancers: https for an HTTPS or
    TLS listener, http for HTTP, TCP and TCP_UDP (a Network Load Balancer's, carrying the service's own HTTP);
    ConfigError saying to set test_url when the listener or its load balancer's DNS name is not found, or the
    listener is UDP."""
    found = call(aws, "elbv2", "describe_listeners", "read the test listener", who=who,
                 ListenerArns=[listener]).get("Listeners") or []
    if not found:
        raise ConfigError(f"service '{name}': test listener {listener} was not found; set test_url in "
                          f"[services.{name}] of ecsdeploy.toml.")
    protocol = str(found[0].get("Protocol"))
    if protocol == "UDP":  # a Network Load Balancer's UDP listener carries no HTTP
        raise ConfigError(f"service '{name}': test listener {listener} is a UDP listener, which HTTP cannot go "
                          f"through; set test_url in [services.{name}] of ecsdeploy.toml.")
    balancer = call(aws, "elbv2", "describe_load_balancers", "read the test listener's load balancer", who=who,
                    LoadBalancerArns=[found[0]["LoadBalancerArn"]]).get("LoadBalancers") or []
    if not balancer or not balancer[0].get("DNSName"):
        raise ConfigError(f"service '{name}': the load balancer of test listener {listener} has no DNS name; set "
                          f"test_url in [services.{name}] of ecsdeploy.toml.")
    scheme = "https" if protocol in ("HTTPS", "TLS") else "http"
    port = int(found[0].get("Port") or 0)
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{balancer[0]['DNSName']}" + (f":{port}" if port and port != default else "")
