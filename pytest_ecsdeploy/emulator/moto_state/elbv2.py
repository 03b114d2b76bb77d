"""ELBv2: task targets registered in target groups (:class:`Elbv2Targets`), target groups and their registered
targets, and listener rules' forward actions read and their weights changed."""

from __future__ import annotations

import copy
import logging
from typing import Any

from .state import _backends

log = logging.getLogger(__name__)


# -- ELBv2 -----------------------------------------------------------------------------------------------


class Elbv2Targets:
    """Registers task targets (IP, container port) in moto's ELBv2 target groups, for the rollout engine."""

    def register(self, account: str, region: str, target_group_arn: str, targets: list[tuple[str, int]]) -> bool:
        """True when registered; False for a target group moto does not know (ECS would have refused the service)."""
        return self._call("register_targets", account, region, target_group_arn, targets)

    def deregister(self, account: str, region: str, target_group_arn: str, targets: list[tuple[str, int]]) -> bool:
        """True when deregistered; False for a target group moto does not know."""
        return self._call("deregister_targets", account, region, target_group_arn, targets)

    @staticmethod
    def _call(method: str, account: str, region: str, arn: str, targets: list[tuple[str, int]]) -> bool:
        from moto.elbv2.models import elbv2_backends

        try:
            getattr(elbv2_backends[account][region], method)(arn, [{"Id": ip, "Port": port} for ip, port in targets])
        except Exception:  # an unknown target group: no targets, no event
            log.debug("%s %s in %s failed", method, targets, arn, exc_info=True)
            return False
        return True


def elbv2_target_group_exists(arn: str) -> bool:
    """True when moto's ELBv2 holds a target group of that ARN (in the account and region the ARN names)."""
    from moto.elbv2.models import elbv2_backends

    parts = arn.split(":")
    regions = dict.get(elbv2_backends, parts[4]) if len(parts) > 5 else None
    backend = dict.get(regions, parts[3]) if regions is not None else None
    return backend is not None and arn in backend.target_groups


def elbv2_listener_rule(arn: str) -> tuple[str, list[tuple[str, int]]] | None:
    """(the type of its load balancer, ``application`` or ``network``; the target groups its forward action sends
    to, each with its weight) of the listener rule ``arn``; a listener ARN gives its default rule's. None when
    moto's ELBv2 has no such rule or listener; the list is empty when the rule does not forward."""
    from moto.elbv2.models import elbv2_backends

    parts = arn.split(":")
    regions = dict.get(elbv2_backends, parts[4]) if len(parts) > 5 else None
    backend = dict.get(regions, parts[3]) if regions is not None else None
    if backend is None:
        return None
    for balancer in list(backend.load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            for rule in list(listener.rules.values()):
                if arn in (rule.arn, listener.arn if rule.is_default else None):
                    return str(balancer.type), _forwarded(rule.actions)
    return None


def _forwarded(actions: list[Any]) -> list[tuple[str, int]]:
    for action in actions:
        data = getattr(action, "data", {})
        if data.get("Type") != "forward":
            continue
        groups = (data.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            return [(str(group["TargetGroupArn"]), int(group.get("Weight", 1))) for group in groups]
        if data.get("TargetGroupArn"):
            return [(str(data["TargetGroupArn"]), 1)]
    return []


def elbv2_set_forward_weights(arn: str, weights: dict[str, int]) -> bool:
    """Give the target groups of ``weights`` (ARN -> 0-999) those weights in the forward action of the listener
    rule ``arn``, as ModifyRule would; False when there is no such rule or it forwards to none of them."""
    from moto.elbv2.models import FakeAction, elbv2_backends

    parts = arn.split(":")
    regions = dict.get(elbv2_backends, parts[4]) if len(parts) > 5 else None
    backend = dict.get(regions, parts[3]) if regions is not None else None
    if backend is None:
        return False
    for balancer in list(backend.load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            for rule in list(listener.rules.values()):
                if arn not in (rule.arn, listener.arn if rule.is_default else None):
                    continue
                changed = False
                actions = []
                for action in rule.actions:
                    data = copy.deepcopy(action.data)
                    groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
                    for group in groups:
                        if data.get("Type") == "forward" and group.get("TargetGroupArn") in weights:
                            group["Weight"], changed = weights[group["TargetGroupArn"]], True
                    actions.append(FakeAction(data))
                if changed:  # a new action list, as ModifyRule makes: readers never see half of one
                    rule.actions = actions
                    if rule.is_default:
                        listener.default_actions = actions
                return changed
    return False


def target_group_arn(name: str) -> str | None:
    """The ARN of a target group named ``name`` in any account and region, None when there is none."""
    from moto.elbv2.models import elbv2_backends

    for _, _, backend in _backends(elbv2_backends):
        for group in list(backend.target_groups.values()):
            if group.name == name:
                return str(group.arn)
    return None


def elbv2_target_group_arn(account: str, region: str, name: str) -> str | None:
    """The ARN of the target group named ``name`` in ``account`` and ``region``; None when there is none."""
    from moto.core.base_backend import backend_lock
    from moto.elbv2.models import elbv2_backends

    with backend_lock:
        groups = list(elbv2_backends[account][region].target_groups.values())
    return next((str(group.arn) for group in groups if group.name == name), None)


def elbv2_forward(account: str, region: str, listener_arn: str, weights: dict[str, int]) -> bool:
    """Point every forward action of listener ``listener_arn`` (its default action and its rules) that forwards to
    one of the target groups of ``weights`` (ARN -> weight) at those target groups with those weights; one with
    weight 0 is left out, and a single one left is forwarded to by ``TargetGroupArn``. False when the listener
    does not exist."""
    from moto.core.base_backend import backend_lock
    from moto.elbv2.models import FakeAction, elbv2_backends

    with backend_lock:
        backend = elbv2_backends[account][region]
        listener = next((found for balancer in backend.load_balancers.values()
                         for found in balancer.listeners.values() if found.arn == listener_arn), None)
    if listener is None:
        return False
    serving = [(arn, weight) for arn, weight in weights.items() if weight > 0]
    for actions in [listener.default_actions] + [rule.actions for rule in listener._non_default_rules.values()]:
        for index, action in enumerate(actions):
            data = action.data
            if data.get("Type") != "forward":
                continue
            named = {data.get("TargetGroupArn")} | {group.get("TargetGroupArn") for group in
                                                   (data.get("ForwardConfig") or {}).get("TargetGroups", [])}
            if not named & set(weights):
                continue
            forward: dict[str, Any] = {"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": arn, "Weight": weight} for arn, weight in serving]}}
            if "Order" in data:
                forward["Order"] = data["Order"]
            if len(serving) == 1:
                forward["TargetGroupArn"] = serving[0][0]
            actions[index] = FakeAction(forward)
    return True


def registered_targets(arn: str) -> set[str]:
    """The target ids (task IPs) registered in a target group; none for a target group moto does not know."""
    from moto.elbv2.models import elbv2_backends

    parts = arn.split(":")
    try:
        group = elbv2_backends[parts[4]][parts[3]].target_groups.get(arn)
    except (IndexError, KeyError):
        return set()
    return set(group.targets) if group is not None else set()
