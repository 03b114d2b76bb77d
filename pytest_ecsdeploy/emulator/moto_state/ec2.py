"""EC2: moto's EC2 models imported only when a request needs them (:func:`_defer_ec2_package`,
:func:`one_boto3_session`), the elastic network interface of an awsvpc task, and which subnets and security groups
moto does not hold."""

from __future__ import annotations

import contextlib
import importlib.abc
import ipaddress
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .loader import boto3_session

#: The module of moto's EC2 models whose class body lists EC2's regions with three ``boto3.Session()``.
_EC2_REGION_TABLES = "moto.ec2.models.availability_zones_and_regions"


def _defer_ec2_package() -> None:
    """Make ``moto.ec2`` a package whose body (``from .models import ec2_backends``) runs at the first read of one
    of its attributes, unless it is imported already; its submodules import as usual meanwhile.

    Why: moto's ECS models bind ``ec2_backends`` at import but use it only for an awsvpc task's network interface,
    a network configuration's subnets and security groups and a container instance's EC2 instance, and importing
    moto's EC2 models costs about as much as the rest of a cold start (~0.3 s: 92 instance-type tables, and EC2's
    service model read to list its regions). So the ECS models get :class:`_DeferredEc2Backends`, and EC2 is
    imported by the first request that needs it; anyone else reading ``moto.ec2``'s attributes (moto's server for
    an EC2 request, moto's SSM or ELBv2 models) runs the body first and sees moto's own objects. The body is
    imports only, so two threads running it at once import the same modules once.
    """
    import importlib.util

    if "moto.ec2" in sys.modules:
        return
    _install_region_tables_finder()
    spec = importlib.util.find_spec("moto.ec2")
    if spec is None or spec.loader is None:
        return
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def attribute(name: str) -> Any:
        if name == "ec2_backends" and _deferring.active:
            return _DeferredEc2Backends()
        if name.startswith("__"):  # probes (__file__, __wrapped__...) are not a use of EC2
            raise AttributeError(f"module 'moto.ec2' has no attribute {name!r}")
        if "__getattr__" in package.__dict__:
            loader.exec_module(package)
            package.__dict__.pop("__getattr__", None)
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module 'moto.ec2' has no attribute {name!r}") from None

    package.__dict__["__getattr__"] = attribute
    sys.modules["moto.ec2"] = package
    import moto

    setattr(moto, "ec2", package)  # noqa: B010 - as the import system sets a package's submodule
    _deferring.active = True
    try:
        import moto.ecs.models  # noqa: F401 - bound to the deferred backends
    finally:
        _deferring.active = False


class _Deferring(threading.local):
    active = False


_deferring = _Deferring()


class _DeferredEc2Backends:
    """moto's ``ec2_backends`` as moto's ECS models hold it: ``[account][region]`` imports moto's EC2 models the
    first time and reads theirs."""

    def __getitem__(self, account: str) -> Any:
        from moto.ec2 import ec2_backends

        return ec2_backends[account]

    def __getattr__(self, name: str) -> Any:
        from moto.ec2 import ec2_backends

        return getattr(ec2_backends, name)


_finder_installed = False


def _install_region_tables_finder() -> None:
    """Import moto's EC2 region tables under :func:`one_boto3_session`, whichever thread imports them first (a
    request for EC2, an awsvpc task, moto's SSM models...), from now on in this process."""
    global _finder_installed
    with _finder_lock:
        if not _finder_installed:
            sys.meta_path.insert(0, _RegionTablesFinder())
            _finder_installed = True


_finder_lock = threading.Lock()


class _RegionTablesFinder:
    """A meta path finder for :data:`_EC2_REGION_TABLES` alone: the module found as usual, run by
    :class:`_OneSessionLoader`."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != _EC2_REGION_TABLES:
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _OneSessionLoader(spec.loader)
        return spec


class _OneSessionLoader(importlib.abc.Loader):
    """A module's own loader, its ``exec_module`` run under :func:`one_boto3_session`."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        with one_boto3_session():
            self._loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename... for tracebacks and inspect
        return getattr(self._loader, name)


@contextlib.contextmanager
def one_boto3_session() -> Iterator[None]:
    """While it lasts, ``boto3.Session()`` without arguments, in this thread, is one shared session.

    For importing moto's ECS models, which import its EC2 models: ``RegionsAndZonesBackend``'s class body makes
    three ``Session()`` to list EC2's regions, and each new session loads botocore's endpoint data and EC2's
    service model again (about half of that import's ~0.6 s; botocore caches loaded data per session). Other
    threads, calls with arguments and calls after it are the real ``boto3.Session``, and so is the name moto's
    module bound."""
    import boto3

    real, importer = boto3.Session, threading.get_ident()
    shared: list[Any] = []
    active = True

    def session(*args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not active or threading.get_ident() != importer:
            return real(*args, **kwargs)
        if not shared:
            shared.append(boto3_session())
        return shared[0]

    boto3.Session = session  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        active = False
        boto3.Session = real  # type: ignore[misc]
        for module in list(sys.modules.values()):
            names = getattr(module, "__dict__", {})  # not getattr(module, "Session"): a module's __getattr__
            if names.get("Session") is session:
                names["Session"] = real


# -- EC2 network interfaces of awsvpc tasks ----------------------------------------------------------------


@dataclass(frozen=True)
class TaskInterface:
    """An elastic network interface made for a task, as ECS's attachment details name its fields."""

    id: str
    subnet_id: str
    mac_address: str
    private_ip: str
    private_dns_name: str


def ec2_create_task_interface(account: str, region: str, subnet_id: str, security_groups: list[str],
                              description: str) -> TaskInterface | None:
    """A new network interface in ``subnet_id`` (on the subnet's first free address), ECS-managed
    (``requesterManaged``); None when EC2 has no such subnet or the subnet has no free address."""
    from moto.ec2.exceptions import InvalidSubnetIdError
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account][region]
    try:
        subnet = backend.get_subnet(subnet_id)
    except InvalidSubnetIdError:
        return None
    groups = [g for g in security_groups if backend.get_security_group_from_id(g) is not None]
    address = _free_address(backend, subnet)
    if address is None:
        return None
    eni = backend.create_network_interface(subnet, address, group_ids=groups or None, description=description)
    eni.requester_managed = True
    ip = str(eni.private_ip_address)
    # EC2 names the address whether or not the VPC has DNS hostnames on; ECS shows that name
    dns = getattr(eni, "private_dns_name", None) or (
        f"ip-{ip.replace('.', '-')}.ec2.internal" if region == "us-east-1"
        else f"ip-{ip.replace('.', '-')}.{region}.compute.internal")
    return TaskInterface(str(eni.id), str(subnet.id), str(eni.mac_address), ip, str(dns))


def _free_address(backend: Any, subnet: Any) -> str | None:
    """The first address of the subnet no interface or instance has, past the 4 that AWS reserves; None when the
    subnet is full (moto would draw one at random, and two tasks could share it)."""
    used = {str(eni.private_ip_address) for eni in list(backend.enis.values())}
    used |= {str(instance.private_ip) for reservation in list(backend.reservations.values())
             for instance in reservation.instances if getattr(instance, "private_ip", None)}
    network = ipaddress.ip_network(str(subnet.cidr_block), strict=False)
    for offset in range(4, network.num_addresses - 1):
        candidate = str(network.network_address + offset)
        if candidate not in used:
            return candidate
    return None


def ec2_set_interface_status(account: str, region: str, interface_id: str, status: str) -> None:
    """Set a network interface's status (``in-use`` while its task runs); nothing when it is gone."""
    from moto.ec2.models import ec2_backends

    eni = ec2_backends[account][region].enis.get(interface_id)
    if eni is not None:
        eni.status = status


def ec2_delete_interface(account: str, region: str, interface_id: str) -> None:
    """Delete a network interface; nothing when it is gone already."""
    from moto.ec2.models import ec2_backends

    ec2_backends[account][region].enis.pop(interface_id, None)


# -- EC2 -------------------------------------------------------------------------------------------------


def ec2_missing(account: str, region: str, subnets: list[str],
                security_groups: list[str]) -> tuple[list[str], list[str]]:
    """The ``subnets`` and ``security_groups`` (IDs) that moto's EC2 does not have in this account and region, each
    in the order given."""
    from moto.ec2.exceptions import InvalidSubnetIdError
    from moto.ec2.models import ec2_backends

    backend = ec2_backends[account][region]
    missing_subnets = []
    for subnet in subnets:
        try:
            backend.get_subnet(subnet)
        except InvalidSubnetIdError:
            missing_subnets.append(subnet)
    return missing_subnets, [group for group in security_groups if backend.get_security_group_from_id(group) is None]
