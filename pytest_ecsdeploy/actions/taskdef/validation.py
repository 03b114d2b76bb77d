"""Validation without AWS: every problem of a payload that can be found before anything is sent.

:func:`validate_payload` returns one sentence per problem, naming the container and field (ECS's limits: at most
:data:`~pytest_ecsdeploy.forms.MAX_CONTAINERS` containers, the forms of the family, container names, tags and
ports, as ``forms.py`` has them; Fargate's cpu/memory table :data:`FARGATE_SIZES`, network mode, essential
containers, memory, image references by Docker's rules, port mappings, references between containers and volumes,
and every secret reference: ``secrets``, ``logConfiguration.secretOptions`` and ``repositoryCredentials`` each
need a name and an ARN or parameter name, whose value is never quoted); :func:`payload_warnings` lists what ECS
accepts but is probably a mistake. Whether referenced secrets exist is asked of AWS in ``secret_refs.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ... import forms
from ...arns import is_tag, parse_arn, parse_image
from .payload import cpu_units, memory_mib, network_mode
from .secret_refs import NOT_A_REFERENCE, is_reference

#: Valid Fargate task sizes (the ECS API reference, RegisterTaskDefinition ``memory``; the ECS Developer Guide, "Task
#: CPU and memory"): cpu units -> (first MiB, last MiB, step), or the explicit list.
FARGATE_SIZES: dict[int, tuple[int, ...] | tuple[int, int, int]] = {
    256: (512, 1024, 2048),
    512: (1024, 4096, 1024),
    1024: (2048, 8192, 1024),
    2048: (4096, 16384, 1024),
    4096: (8192, 30720, 1024),
    8192: (16384, 61440, 4096),
    16384: (32768, 122880, 8192),
}
FARGATE_EPHEMERAL_GIB = (21, 200)


def fargate_memory_choices(cpu: int) -> tuple[int, ...]:
    """The task memory sizes (MiB) Fargate accepts with ``cpu`` units; empty for a cpu Fargate does not offer."""
    size = FARGATE_SIZES.get(cpu)
    if size is None:
        return ()
    if cpu == 256:
        return tuple(size)
    first, last, step = size
    return tuple(range(first, last + 1, step))


def _fargate_memory_words(cpu: int) -> str:
    size = FARGATE_SIZES[cpu]
    if cpu == 256:
        return ", ".join(str(m) for m in size[:-1]) + f" or {size[-1]} MiB"
    first, last, step = size
    return f"{first}–{last} MiB in steps of {step}"


_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
)
_PATH = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


def image_reference_problem(reference: Any) -> str | None:
    """Why ``reference`` is not a well-formed image reference, or None when it is."""
    if not isinstance(reference, str) or not reference.strip():
        return "is empty"
    if reference != reference.strip() or any(ch.isspace() for ch in reference):
        return f"'{reference}' contains whitespace"
    if len(reference) > 255:
        return f"'{reference[:40]}…' is longer than 255 characters"
    image = parse_image(reference)
    domain, path, tag, digest = image.registry, image.repository, image.tag, image.digest
    if domain is not None and not _DOMAIN.fullmatch(domain):
        return f"'{reference}' has an invalid registry '{domain}'"
    if not _PATH.fullmatch(path):
        if path.lower() != path and _PATH.fullmatch(path.lower()):
            return f"'{reference}' has upper-case letters in the repository '{path}' (repositories are lowercase)"
        return f"'{reference}' has an invalid repository '{path}'"
    if tag is not None and not is_tag(tag):
        return f"'{reference}' has an invalid tag '{tag}'"
    if digest is not None and not _DIGEST.fullmatch(digest):
        return f"'{reference}' has an invalid digest '{digest}' (expected sha256: and 64 hex digits)"
    return None


def validate_payload(payload: Mapping[str, Any]) -> list[str]:
    """Every problem of ``payload`` that can be found without AWS, each a sentence naming the container and
    field: Fargate cpu/memory pairs and network mode, essential containers, container memory within task
    memory, image references, port mappings, dependsOn/links/volumesFrom/mountPoints references, duplicate
    names. An empty list means valid."""
    problems: list[str] = _limit_problems(payload)
    containers = [c for c in payload.get("containerDefinitions") or [] if isinstance(c, Mapping)]
    compat = set(payload.get("requiresCompatibilities") or ())
    fargate = "FARGATE" in compat
    mode = network_mode(payload)
    cpu = cpu_units(payload.get("cpu")) if payload.get("cpu") is not None else None
    memory = memory_mib(payload.get("memory")) if payload.get("memory") is not None else None
    if payload.get("cpu") is not None and cpu is None:
        problems.append(f"task cpu: '{payload['cpu']}' is not a number of CPU units or vCPU (e.g. 512 or '1 vCPU').")
    if payload.get("memory") is not None and memory is None:
        problems.append(f"task memory: '{payload['memory']}' is not a size in MiB or GB (e.g. 2048 or '2 GB').")

    if fargate:
        if mode != "awsvpc":
            problems.append(f"networkMode: Fargate tasks need 'awsvpc', found '{mode}'.")
        if payload.get("cpu") is None or payload.get("memory") is None:
            missing = " and ".join(k for k in ("cpu", "memory") if payload.get(k) is None)
            problems.append(f"task {missing}: Fargate tasks need task-level cpu and memory, {missing} is not set.")
        elif cpu is not None and memory is not None:
            if cpu not in FARGATE_SIZES:
                sizes = ", ".join(str(c) for c in FARGATE_SIZES)
                problems.append(f"task cpu: Fargate offers {sizes} CPU units, found {cpu}.")
            elif memory not in fargate_memory_choices(cpu):
                problems.append(
                    f"task memory: Fargate with cpu {cpu} accepts {_fargate_memory_words(cpu)}, found {memory}."
                )
            family = str((payload.get("runtimePlatform") or {}).get("operatingSystemFamily") or "")
            if family.startswith("WINDOWS") and cpu < 1024:
                problems.append(f"task cpu: Windows tasks on Fargate need at least 1024 CPU units, found {cpu}.")
        storage = (payload.get("ephemeralStorage") or {}).get("sizeInGiB")
        low, high = FARGATE_EPHEMERAL_GIB
        if isinstance(storage, int) and not low <= storage <= high:
            problems.append(f"ephemeralStorage sizeInGiB: Fargate accepts {low}–{high} GiB, found {storage}.")
        if payload.get("pidMode") == "host":
            problems.append("pidMode: Fargate tasks accept only 'task', found 'host'.")
        for volume in payload.get("volumes") or []:
            if (volume.get("host") or {}).get("sourcePath"):
                problems.append(f"volume '{volume.get('name')}' host.sourcePath: Fargate has no host paths to mount.")
            if volume.get("dockerVolumeConfiguration"):
                problems.append(
                    f"volume '{volume.get('name')}' dockerVolumeConfiguration: Fargate does not support "
                    f"Docker volumes."
                )

    if containers and not any(c.get("essential", True) is not False for c in containers):
        problems.append('containerDefinitions: no container is essential; mark at least one "essential": true.')
    if not containers:
        problems.append("containerDefinitions: the task definition has no containers.")

    names = [str(c.get("name")) for c in containers]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(f"container '{name}' is defined more than once.")
        seen.add(name)
    by_name = {str(c.get("name")): c for c in containers}
    volume_names = {str(v.get("name")) for v in payload.get("volumes") or []}

    reserved = 0
    for container in containers:
        name = str(container.get("name"))
        label = f"container '{name}'"
        problem = image_reference_problem(container.get("image"))
        if problem:
            problems.append(f"{label} image: {problem}.")
        hard, soft = container.get("memory"), container.get("memoryReservation")
        if isinstance(hard, int) and isinstance(soft, int) and soft > hard:
            problems.append(f"{label} memoryReservation: {soft} MiB is more than its memory limit {hard} MiB.")
        if memory is not None:
            for key, value in (("memory", hard), ("memoryReservation", soft)):
                if isinstance(value, int) and value > memory:
                    problems.append(f"{label} {key}: {value} MiB is more than the task's memory {memory} MiB.")
        elif not fargate and hard is None and soft is None:
            problems.append(
                f"{label} memory: without task-level memory, EC2 tasks need memory or memoryReservation on "
                f"every container."
            )
        amount = soft if isinstance(soft, int) else hard if isinstance(hard, int) else 0
        reserved += amount
        for index, mapping in enumerate(container.get("portMappings") or []):
            host_port, container_port = mapping.get("hostPort"), mapping.get("containerPort")
            if mode in ("awsvpc", "host") and host_port not in (None, 0) and host_port != container_port:
                problems.append(
                    f"{label} portMappings[{index}] hostPort: in {mode} mode it must equal containerPort "
                    f"{container_port}, found {host_port}."
                )
        for dependency in container.get("dependsOn") or []:
            target = str(dependency.get("containerName"))
            if target not in by_name:
                problems.append(f"{label} dependsOn: there is no container '{target}'; containers: {', '.join(names)}.")
            elif dependency.get("condition") == "HEALTHY" and not by_name[target].get("healthCheck"):
                problems.append(
                    f"{label} dependsOn: condition HEALTHY needs a healthCheck on container '{target}', it has none."
                )
        for link in container.get("links") or []:
            target = str(link).split(":")[0]
            if mode != "bridge":
                problems.append(f"{label} links: links work only in bridge mode, the task uses '{mode}'.")
                break
            if target not in by_name:
                problems.append(f"{label} links: there is no container '{target}'; containers: {', '.join(names)}.")
        for source in container.get("volumesFrom") or []:
            target = str(source.get("sourceContainer"))
            if target not in by_name:
                problems.append(f"{label} volumesFrom: there is no container '{target}'.")
        for mount in container.get("mountPoints") or []:
            volume = mount.get("sourceVolume")
            if volume is not None and str(volume) not in volume_names:
                known = ", ".join(sorted(volume_names)) or "none are defined"
                problems.append(f"{label} mountPoints: there is no volume '{volume}' (volumes: {known}).")
        if fargate and container.get("links"):
            problems.append(f"{label} links: Fargate (awsvpc) tasks do not support links.")
        if fargate and container.get("privileged"):
            problems.append(f"{label} privileged: Fargate does not run privileged containers.")
        problems += _secret_reference_problems(label, container)
    if memory is not None and reserved > memory:
        problems.append(
            f"containerDefinitions: the containers reserve {reserved} MiB in total, more than the task's memory "
            f"{memory} MiB."
        )
    return problems


def _limit_problems(payload: Mapping[str, Any]) -> list[str]:
    """What ECS refuses of a task definition's size and names (``forms.py``, ``ecs_limits.toml``)."""
    problems: list[str] = []
    family = payload.get("family")
    expected = forms.family_name(family)
    if expected is not None:
        problems.append(f"family: expected {expected}, got '{family}'.")
    containers = [c for c in payload.get("containerDefinitions") or [] if isinstance(c, Mapping)]
    if len(containers) > forms.MAX_CONTAINERS:
        problems.append(f"containerDefinitions: ECS allows at most {forms.MAX_CONTAINERS} containers in a task "
                        f"definition, found {len(containers)}.")
    for container in containers:
        name = container.get("name")
        expected = forms.container_name(name)
        if expected is not None:
            shown = f"'{name[:40]}…'" if isinstance(name, str) and len(name) > 40 else f"'{name}'"
            problems.append(f"container {shown} name: expected {expected}.")
        for index, mapping in enumerate(container.get("portMappings") or []):
            for key in ("containerPort", "hostPort"):
                if key in mapping and forms.port(mapping[key]) is not None:
                    problems.append(f"container '{name}' portMappings[{index}] {key}: expected {forms.port(-1)}, "
                                    f"got {mapping[key]}.")
    tags = payload.get("tags") or []
    if len(tags) > forms.MAX_TAGS:
        problems.append(f"tags: ECS allows at most {forms.MAX_TAGS} tags, found {len(tags)}.")
    for index, tag in enumerate(tags):
        key, value = tag.get("key"), tag.get("value", "")
        for part, checker, shown in (("key", forms.tag_key, key), ("value", forms.tag_value, value)):
            expected = checker(shown)
            if expected is not None:
                problems.append(f"tags[{index}] {part}: expected {expected}, got '{shown}'.")
    return problems


def _secret_reference_problems(label: str, container: Mapping[str, Any]) -> list[str]:
    """Every secret reference of ``container`` named and pointing at an ARN or parameter name; the value is never
    quoted (it may be the secret itself, pasted by mistake)."""
    problems: list[str] = []
    entries = [("secrets", item) for item in container.get("secrets") or []]
    entries += [("logConfiguration.secretOptions", item)
                for item in (container.get("logConfiguration") or {}).get("secretOptions") or []]
    for field, item in entries:
        name = str(item.get("name") or "")
        value = str(item.get("valueFrom") or "")
        where = f"{label} {field}" + (f" {name}" if name.strip() else "")
        if not name.strip():
            problems.append(f"{where}: an entry has an empty name.")
        if not value.strip():
            problems.append(f"{where}: valueFrom is empty.")
        elif not is_reference(value):
            problems.append(f"{where}: {NOT_A_REFERENCE}.")
    credentials = container.get("repositoryCredentials")
    if credentials is not None:
        value = str((credentials or {}).get("credentialsParameter") or "")
        arn = parse_arn(value)
        if not value.strip():
            problems.append(f"{label} repositoryCredentials credentialsParameter: it is empty.")
        elif arn is None or arn.service != "secretsmanager":
            problems.append(f"{label} repositoryCredentials credentialsParameter: expected the ARN of a Secrets "
                            f"Manager secret; the value given is not shown, as it may be the secret itself.")
    return problems


def payload_warnings(payload: Mapping[str, Any]) -> list[str]:
    """What ECS accepts but is probably a mistake: a variable set twice, or both in environment and secrets
    (ecspresso's CI registers such a definition, so it is not a validation problem)."""
    warnings: list[str] = []
    for container in payload.get("containerDefinitions") or []:
        label = f"container '{container.get('name')}'"
        env_names = [str(item.get("name")) for item in container.get("environment") or []]
        secret_names = [str(item.get("name")) for item in container.get("secrets") or []]
        for duplicate in sorted({n for n in env_names if env_names.count(n) > 1}):
            warnings.append(f"{label} environment: '{duplicate}' is set more than once; the last one wins.")
        for duplicate in sorted({n for n in secret_names if secret_names.count(n) > 1}):
            warnings.append(f"{label} secrets: '{duplicate}' is set more than once.")
        for duplicate in sorted(set(env_names) & set(secret_names)):
            warnings.append(f"{label}: '{duplicate}' is set both in environment and in secrets.")
    return warnings
