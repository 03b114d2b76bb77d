"""The elastic network interface of an ``awsvpc`` task, made in moto's EC2 as ECS makes it.

ECS gives each awsvpc task (every Fargate task) its own network interface in one of the subnets of its
``awsvpcConfiguration``, with its security groups: created when the task is (PROVISIONING), ``in-use`` while the
task runs, deleted once it has stopped. The task's address is the interface's, a free one of the subnet's
CIDR (no two live tasks share one), and DescribeTasks shows the interface as an ``attachments[]`` item of type
ElasticNetworkInterface (status PRECREATED, ATTACHED, then DELETED) with the details ``subnetId``,
``networkInterfaceId``, ``macAddress``, ``privateDnsName`` and ``privateIPv4Address`` (API Reference
"Attachment"; Developer Guide "Amazon ECS task networking options for Fargate").
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from .. import moto_state
from .models import Task


def attach(task: Task, network_configuration: Any, rng: random.Random) -> None:
    """Make the network interface of ``task`` in a subnet of ``network_configuration`` (one picked at random, as
    ECS spreads tasks over the subnets given) and give the task its address; nothing without an
    ``awsvpcConfiguration``, for a task definition not in awsvpc mode, or when EC2 no longer has the subnet or it
    is full (the task keeps its engine-made address)."""
    if task.task_definition.network_mode != "awsvpc":
        return
    awsvpc = network_configuration.get("awsvpcConfiguration") if isinstance(network_configuration, dict) else None
    subnets = [str(s) for s in (awsvpc or {}).get("subnets") or []]
    if not subnets:
        return
    attachment_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    description = f"arn:aws:ecs:{task.region}:{task.account}:attachment/{attachment_id}"
    groups = [str(g) for g in awsvpc.get("securityGroups") or []] if awsvpc else []
    interface = moto_state.ec2_create_task_interface(task.account, task.region, rng.choice(subnets), groups,
                                                     description)
    if interface is None:
        return
    task.interface, task.attachment_id, task.private_ip = interface, attachment_id, interface.private_ip


def in_use(task: Task) -> None:
    """The task's containers are starting: its interface is attached (``in-use``)."""
    if task.interface is not None:
        moto_state.ec2_set_interface_status(task.account, task.region, task.interface.id, "in-use")


def release(task: Task) -> None:
    """The task has stopped: its interface is deleted (once)."""
    if task.interface is not None and not task.interface_deleted:
        task.interface_deleted = True
        moto_state.ec2_delete_interface(task.account, task.region, task.interface.id)


def attachment_json(task: Task) -> dict[str, Any] | None:
    """The ElasticNetworkInterface item of the task's ``attachments``, None when it has no interface."""
    interface = task.interface
    if interface is None:
        return None
    if task.interface_deleted:
        status = "DELETED"
    elif task.last_status == "PROVISIONING":
        status = "PRECREATED"
    else:
        status = "ATTACHED"
    details = [
        {"name": "subnetId", "value": interface.subnet_id},
        {"name": "networkInterfaceId", "value": interface.id},
        {"name": "macAddress", "value": interface.mac_address},
        {"name": "privateDnsName", "value": interface.private_dns_name},
        {"name": "privateIPv4Address", "value": interface.private_ip},
    ]
    return {"id": task.attachment_id, "type": "ElasticNetworkInterface", "status": status, "details": details}
