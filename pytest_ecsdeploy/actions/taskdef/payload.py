"""The RegisterTaskDefinition payload, derived from botocore's service model, and the one form it is compared in.

- :func:`payload_from` turns a bare request, describe-task-definition output or a described TaskDefinition into
  the payload: every member of RegisterTaskDefinitionRequest is carried, :func:`read_only_fields` (what
  DescribeTaskDefinition adds) and nulls are dropped, scalars are converted to the model's types, and an unknown
  key is an error naming the nearest valid one; :func:`payload_from_template` does the same for a ``${VAR}``
  JSON template file.
- :func:`normalise` puts a payload and what DescribeTaskDefinition returns for it in one form (ECS's defaults,
  order, ``"1 vCPU"``/``"2 GB"``); :func:`differences` lists the paths at which two such forms differ.

Nothing here talks to AWS.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...arns import parse_image
from ...config import render_template
from ...errors import ActionError, ConfigError
from ...tomlfile import read_text

if TYPE_CHECKING:
    from botocore.model import Shape, StructureShape


# -- the payload, derived from botocore's model --------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _ecs_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("ecs")


def register_shape() -> StructureShape:
    """The input shape of RegisterTaskDefinition in the installed botocore."""
    shape: StructureShape = _ecs_model().operation_model("RegisterTaskDefinition").input_shape
    return shape


@functools.lru_cache(maxsize=1)
def read_only_fields() -> frozenset[str]:
    """What DescribeTaskDefinition returns and RegisterTaskDefinition rejects: the TaskDefinition shape's
    members that the request does not have (``taskDefinitionArn``, ``revision``, ``status`` …)."""
    described = set(_ecs_model().shape_for("TaskDefinition").members)
    return frozenset(described - set(register_shape().members))


class _Drop:
    """Marks a value that the payload leaves out (an empty enum string)."""


_DROP = _Drop()
_DESCRIBE_ENVELOPE = ("taskDefinition", "tags", "ResponseMetadata", "failures")


def payload_from(document: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The RegisterTaskDefinition payload for ``document``: a bare request, a describe-task-definition answer
    (``{"taskDefinition": {...}, "tags": [...]}``) or a TaskDefinition as DescribeTaskDefinition returns it.

    ``where`` starts every error message (a file name, ``running revision web:12``, ``the render hook``).

    >>> payload_from({"taskDefinition": {"family": "web", "revision": 3, "containerDefinitions": [...]},
    ...               "tags": [{"key": "team", "value": "shop"}]}, "web.json")
    {'family': 'web', 'containerDefinitions': [...], 'tags': [{'key': 'team', 'value': 'shop'}]}
    """
    if not isinstance(document, Mapping):
        raise ActionError(f"{where}: expected a JSON object with a task definition, got {kind_of(document)}.")
    body: Mapping[str, Any] = document
    outer_tags: Any = None
    if isinstance(document.get("taskDefinition"), Mapping):
        unknown = [key for key in document if key not in _DESCRIBE_ENVELOPE]
        if unknown:
            raise ActionError(
                f"{where}: a describe-task-definition document holds only 'taskDefinition' and 'tags', "
                f"found also '{unknown[0]}'."
            )
        body, outer_tags = document["taskDefinition"], document.get("tags")
    payload = _conform(body, register_shape(), "", where, top=True)
    assert isinstance(payload, dict)
    if outer_tags:
        tags = _conform(outer_tags, register_shape().members["tags"], "tags", where)
        known = {tag["key"] for tag in tags}
        payload["tags"] = tags + [tag for tag in payload.get("tags", []) if tag["key"] not in known]
    return payload


def payload_from_template(template: Path, variables: Mapping[str, str]) -> dict[str, Any]:
    """The payload of a JSON template file, its ``${VAR}`` filled from ``variables``; every problem is a ConfigError
    naming the file, found without hanging: a missing file, one that is no regular file (a FIFO, ``/dev/zero``), is
    larger than ``tomlfile.MAX_FILE_BYTES`` or is not UTF-8 (``tomlfile.read_text``), an unknown variable, bad
    JSON, JSON nested deeper than :data:`MAX_TEMPLATE_DEPTH`, a key the model does not know.
    """
    text = read_text(template, missing="create the task-definition template or correct its path",
                     kind="a task-definition template")
    rendered = render_template(text, variables, str(template))
    try:
        document = json.loads(rendered)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{template}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})."
        ) from None
    except RecursionError:
        document = None
    if document is None or _depth(document) > MAX_TEMPLATE_DEPTH:
        raise ConfigError(f"{template}: the JSON is nested deeper than {MAX_TEMPLATE_DEPTH} levels; a task "
                          f"definition needs fewer than ten.")
    try:
        return payload_from(document, str(template))
    except ActionError as exc:
        raise ConfigError(str(exc)) from None


#: How deep a template's JSON may nest (a task definition nests about six levels: container, healthCheck, command).
MAX_TEMPLATE_DEPTH = 32


def _depth(document: Any) -> int:
    """How deep ``document`` nests (a scalar is 0), counted without recursion."""
    deepest, stack = 0, [(document, 0)]
    while stack:
        value, level = stack.pop()
        deepest = max(deepest, level)
        if level <= MAX_TEMPLATE_DEPTH and isinstance(value, (dict, list)):
            stack += [(item, level + 1) for item in (value.values() if isinstance(value, dict) else value)]
    return deepest


def _conform(value: Any, shape: Shape, path: str, where: str, top: bool = False) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise ActionError(f"{where}: {path or 'the document'}: expected an object, got {kind_of(value)}.")
        members = shape.members
        result: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            if key not in members:
                if top and key in read_only_fields():
                    continue
                close = difflib.get_close_matches(key, list(members), n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else f"valid keys are: {', '.join(members)}."
                raise ActionError(f"{where}: {_label(path)} has an unknown key '{key}'; {hint}")
            conformed = _conform(item, members[key], _join(path, key, item), where)
            if conformed is not _DROP:
                result[key] = conformed
        for key in shape.required_members:
            if key not in result:
                raise ActionError(f"{where}: {_label(path)} is missing the required key '{key}'.")
        return result
    if kind == "list":
        if not isinstance(value, list):
            raise ActionError(f"{where}: {path}: expected a list, got {kind_of(value)}.")
        member = shape.member
        items = []
        for index, item in enumerate(value):
            if item is None:
                continue
            conformed = _conform(item, member, _index(path, index, item), where)
            if conformed is not _DROP:
                items.append(conformed)
        return items
    if kind == "map":
        if not isinstance(value, Mapping):
            raise ActionError(f"{where}: {path}: expected an object, got {kind_of(value)}.")
        value_shape = shape.value
        return {
            str(key): _conform(item, value_shape, f"{path}.{key}", where)
            for key, item in value.items()
            if item is not None
        }
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if not isinstance(value, str):
            raise ActionError(f"{where}: {path}: expected a string, got {kind_of(value)}.")
        if value == "" and shape.enum:
            return _DROP  # what exporters write for an unset enum; AWS SDKs leave it out
        if shape.enum and value not in shape.enum:
            raise ActionError(f"{where}: {path}: '{value}' is not one of {', '.join(shape.enum)}.")
        return value
    if kind in ("integer", "long"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ActionError(f"{where}: {path}: expected a whole number, got {kind_of(value)}.")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ActionError(f"{where}: {path}: expected true or false, got {kind_of(value)}.")
    if kind in ("double", "float"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ActionError(f"{where}: {path}: expected a number, got {kind_of(value)}.") from None
    return value


def _join(path: str, key: str, item: Any) -> str:
    if not path:
        return key
    return f"{path} {key}" if path.endswith("'") else f"{path}.{key}"


def _index(path: str, index: int, item: Any) -> str:
    if path == "containerDefinitions" and isinstance(item, Mapping) and isinstance(item.get("name"), str):
        return f"container '{item['name']}'"
    if path == "volumes" and isinstance(item, Mapping) and isinstance(item.get("name"), str):
        return f"volume '{item['name']}'"
    return f"{path}[{index}]"


def _label(path: str) -> str:
    return path or "the task definition"


def kind_of(value: Any) -> str:
    """``value`` as an error message names it: ``null``, ``'1 GB' (a string)``, ``a list`` …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value} (a number)"
    if isinstance(value, str):
        return f"'{value}' (a string)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


# -- normalisation: one form for a payload and its described revision -----------------------------------------


def cpu_units(value: Any) -> int | None:
    """Task cpu as CPU units: ``"1 vCPU"`` -> 1024, ``"0.25 vcpu"`` -> 256, ``"512"`` -> 512; None if not a size."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() and value >= 0 else None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(vcpus?)?\s*", str(value), re.IGNORECASE)
    if not match:
        return None
    number = float(match.group(1))
    units = number * 1024 if match.group(2) else number
    return int(units) if float(units).is_integer() else None


def memory_mib(value: Any) -> int | None:
    """Task memory in MiB: ``"2 GB"`` -> 2048, ``"512"`` -> 512, ``"512 MiB"`` -> 512; None if not a size."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() and value >= 0 else None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(gb|gib|mb|mib)?\s*", str(value), re.IGNORECASE)
    if not match:
        return None
    number = float(match.group(1))
    unit = (match.group(2) or "").lower()
    mib = number * 1024 if unit in ("gb", "gib") else number
    return int(mib) if float(mib).is_integer() else None


def network_mode(payload: Mapping[str, Any]) -> str:
    """The task's network mode, with ECS's default (``awsvpc`` is required for Fargate, else ``bridge``)."""
    mode = payload.get("networkMode")
    if mode:
        return str(mode)
    return "awsvpc" if "FARGATE" in (payload.get("requiresCompatibilities") or ()) else "bridge"


_HEALTH_CHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}


def normalise(payload: Mapping[str, Any]) -> dict[str, Any]:
    """``payload`` in the one form used for comparison: ECS's defaults removed (container ``cpu`` 0,
    ``essential`` true, an image without tag or digest given Docker's ``:latest``, port ``protocol`` tcp,
    ``hostPort`` equal to ``containerPort`` in awsvpc/host mode,
    health-check intervals, EFS ``rootDirectory`` "/", false flags), task ``cpu``/``memory`` as unit strings,
    ``networkMode`` made explicit, lists whose order means nothing sorted (containers, environment, secrets,
    tags, volumes), and null, empty lists and empty objects pruned.

    A payload and what DescribeTaskDefinition returns for its registration normalise to the same value.
    """
    result = copy.deepcopy(dict(payload))
    mode = network_mode(result)
    result["networkMode"] = mode
    for key, parse in (("cpu", cpu_units), ("memory", memory_mib)):
        if key in result:
            parsed = parse(result[key])
            if parsed is not None:
                result[key] = str(parsed)
    if "requiresCompatibilities" in result:
        result["requiresCompatibilities"] = sorted(result["requiresCompatibilities"])
    containers = []
    for container in result.get("containerDefinitions") or []:
        container = dict(container)
        if container.get("cpu") == 0:
            del container["cpu"]
        if container.get("essential") is True:
            del container["essential"]
        image = container.get("image")
        if isinstance(image, str) and image and (ref := parse_image(image)).tag is None and ref.digest is None:
            container["image"] = f"{image}:latest"  # Docker pulls the same image for 'nginx' and 'nginx:latest'
        mappings = []
        for mapping in container.get("portMappings") or []:
            mapping = dict(mapping)
            if mapping.get("protocol") == "tcp":
                del mapping["protocol"]
            if "hostPort" in mapping and (
                (mode in ("awsvpc", "host") and mapping["hostPort"] == mapping.get("containerPort"))
                or (mode == "bridge" and mapping["hostPort"] == 0)
            ):
                del mapping["hostPort"]
            mappings.append(mapping)
        if mappings:
            container["portMappings"] = mappings
        check = container.get("healthCheck")
        if isinstance(check, Mapping):
            container["healthCheck"] = {
                key: value for key, value in check.items() if _HEALTH_CHECK_DEFAULTS.get(key, object()) != value
            }
        for key in ("environment", "secrets"):
            if container.get(key):
                container[key] = sorted(container[key], key=lambda item: str(item.get("name")))
        containers.append(container)
    if "containerDefinitions" in result:
        result["containerDefinitions"] = sorted(containers, key=lambda c: str(c.get("name")))
    volumes = []
    for volume in result.get("volumes") or []:
        volume = copy.deepcopy(dict(volume))
        efs = volume.get("efsVolumeConfiguration")
        if isinstance(efs, dict) and efs.get("rootDirectory") == "/":
            del efs["rootDirectory"]
        volumes.append(volume)
    if "volumes" in result:
        result["volumes"] = sorted(volumes, key=lambda v: str(v.get("name")))
    if result.get("tags"):
        result["tags"] = sorted(result["tags"], key=lambda tag: str(tag.get("key")))
    if result.get("placementConstraints"):
        result["placementConstraints"] = sorted(
            result["placementConstraints"], key=lambda c: json.dumps(c, sort_keys=True)
        )
    pruned = _prune(result)
    return pruned if isinstance(pruned, dict) else {}


def _prune(value: Any, key: str | None = None) -> Any:
    if isinstance(value, Mapping):
        pruned = {}
        for name, item in value.items():
            if item is False and name != "essential":
                continue  # every other boolean of a task definition defaults to false
            cleaned = _prune(item, name)
            if cleaned is None or cleaned == [] or cleaned == {}:
                continue
            pruned[name] = cleaned
        return pruned
    if isinstance(value, list):
        return [cleaned for cleaned in (_prune(item) for item in value) if cleaned is not None]
    return value


def differences(old: Any, new: Any, path: str = "") -> list[str]:
    """The paths at which two (normalised) payloads differ, for messages: ``['containerDefinitions[app].image']``."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found: list[str] = []
        for key in sorted(set(old) | set(new)):
            found += differences(old.get(key), new.get(key), f"{path}.{key}" if path else str(key))
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        found = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            same_name = isinstance(a, Mapping) and isinstance(b, Mapping) and a.get("name") == b.get("name")
            label = a.get("name") if same_name and a.get("name") is not None else index
            found += differences(a, b, f"{path}[{label}]")
        return found
    return [] if old == new else [path or "(the whole document)"]
