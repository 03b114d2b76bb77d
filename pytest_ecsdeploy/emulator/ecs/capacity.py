"""Capacity provider strategies: which capacity provider each task of a RunTask or a service runs on.

A RunTask or CreateService request runs on its ``capacityProviderStrategy``; with neither that nor a
``launchType``, on its cluster's default strategy (CreateCluster or PutClusterCapacityProviders
``defaultCapacityProviderStrategy``), and else on a launch type (:func:`strategy_for`). Every provider of a
strategy must be associated with the cluster, and Fargate providers (FARGATE, FARGATE_SPOT) and providers of
Auto Scaling groups do not mix; else InvalidParameterException with ECS's message. A task on FARGATE or
FARGATE_SPOT runs as a Fargate one; on another provider it is placed on the cluster's container instances
(``placement.py``). Tasks show ``capacityProviderName`` and no ``launchType``; services and their deployments
show the ``capacityProviderStrategy`` they run with.

The tasks are spread as ECS documents for ``base`` and ``weight`` (Developer Guide, "Capacity provider
strategies"): the provider with a base gets its first ``base`` tasks, the rest go to the providers in proportion
to their weights (:func:`next_provider`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import moto_state
from .exceptions import InvalidParameterException

FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")

# ECS's answer to RunTask on FARGATE_SPOT when the cluster has not been given it (dask/dask-cloudprovider#328).
NOT_ASSOCIATED = ("The specified capacity provider strategy cannot contain a capacity provider that is not "
                  "associated with the cluster. Associate the capacity provider with the cluster or specify a valid "
                  "capacity provider and try again.")
# The rule as the CreateCluster / CapacityProviderStrategyItem documentation words it.
MIXED = ("A capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and "
         "Fargate providers.")
ONE_BASE = "Only one capacity provider in a capacity provider strategy can have a base defined."


@dataclass(frozen=True)
class StrategyItem:
    """One item of a capacity provider strategy: ``weight`` 0 to 1000, ``base`` 0 to 100000 (both default 0)."""

    provider: str
    weight: int = 0
    base: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"capacityProvider": self.provider, "weight": self.weight, "base": self.base}


@dataclass(frozen=True)
class Strategy:
    """A checked capacity provider strategy; ``fargate`` when its providers are FARGATE / FARGATE_SPOT."""

    items: tuple[StrategyItem, ...]

    @property
    def fargate(self) -> bool:
        return self.items[0].provider in FARGATE_PROVIDERS

    def as_json(self) -> list[dict[str, Any]]:
        return [item.as_json() for item in self.items]


def strategy_for(account: str, region: str, cluster: str, params: Mapping[str, Any]) -> Strategy | None:
    """The strategy a RunTask or CreateService request runs with in ``cluster`` (a name): its
    ``capacityProviderStrategy``, else (when it gives no ``launchType``) the cluster's default strategy; None to run
    on a launch type. Raises InvalidParameterException (see the module docstring)."""
    capacity = moto_state.ecs_cluster_capacity(account, region, cluster)
    given = params.get("capacityProviderStrategy")
    if not given and (params.get("launchType") or capacity is None or not capacity.default_strategy):
        return None
    return checked(account, region, cluster, given or (list(capacity.default_strategy) if capacity else []))


def checked(account: str, region: str, cluster: str, items: Any) -> Strategy:
    """A ``capacityProviderStrategy`` parameter parsed (:func:`parse`), each of its providers associated with
    ``cluster`` (a name); else InvalidParameterException."""
    capacity = moto_state.ecs_cluster_capacity(account, region, cluster)
    strategy = parse(items)
    associated = capacity.providers if capacity is not None else ()
    if any(item.provider not in associated for item in strategy.items):
        raise InvalidParameterException(NOT_ASSOCIATED)
    return strategy


def parse(items: Any) -> Strategy:
    """A ``capacityProviderStrategy`` parameter checked; raises InvalidParameterException."""
    if not isinstance(items, list) or not 1 <= len(items) <= 20:
        raise InvalidParameterException("capacityProviderStrategy must list between 1 and 20 capacity providers.")
    parsed = []
    for item in items:
        provider = item.get("capacityProvider") if isinstance(item, dict) else None
        if not isinstance(provider, str) or not provider:
            raise InvalidParameterException("capacityProvider must be specified in each capacityProviderStrategy item.")
        weight, base = item.get("weight", 0), item.get("base", 0)
        if not _integer(weight, 1000):
            raise InvalidParameterException("weight must be an integer between 0 and 1000.")
        if not _integer(base, 100000):
            raise InvalidParameterException("base must be an integer between 0 and 100000.")
        parsed.append(StrategyItem(provider.rsplit("/", 1)[-1], weight, base))
    if sum(item.base > 0 for item in parsed) > 1:
        raise InvalidParameterException(ONE_BASE)
    if len({item.provider in FARGATE_PROVIDERS for item in parsed}) > 1:
        raise InvalidParameterException(MIXED)
    return Strategy(tuple(parsed))


def _integer(value: Any, maximum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum


def next_provider(strategy: Strategy, counts: Mapping[str, int]) -> str:
    """The provider the next task goes to, given how many tasks each provider has (``counts``, by name): the one
    with a base until it has ``base`` tasks, then the one whose tasks beyond its base stay lowest against its
    weight once it has the task (the first listed on a tie); with every weight 0, the first provider.

    >>> s = parse([{"capacityProvider": "FARGATE_SPOT", "base": 1, "weight": 2},
    ...            {"capacityProvider": "FARGATE", "weight": 1}])
    >>> counts: dict[str, int] = {}
    >>> for _ in range(7):
    ...     p = next_provider(s, counts); counts[p] = counts.get(p, 0) + 1
    >>> counts
    {'FARGATE_SPOT': 5, 'FARGATE': 2}
    """
    for item in strategy.items:
        if item.base and counts.get(item.provider, 0) < item.base:
            return item.provider
    weighted = [(i, item) for i, item in enumerate(strategy.items) if item.weight > 0]
    if not weighted:
        return strategy.items[0].provider

    def share(entry: tuple[int, StrategyItem]) -> tuple[float, int]:
        i, item = entry
        return (max(counts.get(item.provider, 0) - item.base, 0) + 1) / item.weight, i

    return min(weighted, key=share)[1].provider


def spread(strategy: Strategy, count: int, counts: Mapping[str, int] | None = None) -> Sequence[str]:
    """The providers of ``count`` new tasks, in order, given the tasks each provider already has."""
    running = dict(counts or {})
    chosen = []
    for _ in range(count):
        provider = next_provider(strategy, running)
        running[provider] = running.get(provider, 0) + 1
        chosen.append(provider)
    return chosen
