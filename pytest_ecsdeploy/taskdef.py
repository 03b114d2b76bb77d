"""Task definitions: copy or render one, change only what a deploy changes, validate it, register it once.

The ``task_definition`` fixture is a :class:`TaskDefinition` bound to the scenario's service::

    def test_register_revision(task_definition, ecr):
        revision = task_definition.with_image("app", ecr.image()).register()
        assert revision.arn == task_definition.registered.arn

What it gets right where the usual describe/jq/register recipe does not:

- **Sources.** ``current()`` copies the revision the service runs now (DescribeServices, then
  DescribeTaskDefinition with its tags); ``from_file(path)`` renders a JSON template with ``${VAR}``. Both a bare
  RegisterTaskDefinition document and describe-task-definition output (``{"taskDefinition": {...}, "tags":
  [...]}``, read-only fields and all) are accepted. Without either call the source is the service's
  ``task_definition`` key, else ``current()``.
- **The payload comes from botocore's service model.** Every member of RegisterTaskDefinitionRequest is carried
  (executionRoleArn, ephemeralStorage, dependsOn, runtimePlatform, tags …), the fields DescribeTaskDefinition adds
  (``taskDefinitionArn``, ``revision``, ``status``, ``requiresAttributes`` …, computed as the TaskDefinition
  shape's members that the request lacks) are dropped, nulls are dropped, an empty string in an enum field (what
  exporters write for "unset") is dropped, scalars are converted to the type the model asks for, and a key the
  model does not know is an error naming it and the nearest valid key.
- **Only the named containers change** (``with_image``), sidecars keep their images.
- **Idempotent.** :func:`normalise` puts a payload and what DescribeTaskDefinition returns for it in one form
  (ECS's defaults, empty lists, key and list order, ``"1 vCPU"``/``"2 GB"``), so an unchanged definition is not
  registered again; the revision returned is the exact ARN registered (or reused), never "latest by family".
- **Secrets stay secret.** ``secrets`` are ARNs and are shown; environment values whose names look secret
  (:data:`SECRET_NAME`) and passwords inside URLs are masked in every diff and message. Secret references are
  checked with DescribeSecret / DescribeParameters, which return metadata only: no value is ever read.

Checks are recorded under the actions ``task_definition.validate`` and ``task_definition.register``.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .aws import client_config, error_code, error_message
from .config import render_template
from .errors import ActionError, ConfigError

if TYPE_CHECKING:
    from botocore.model import Shape, StructureShape

    from .context import ServiceContext
    from .ecr import ImageRef

VALIDATE = "task_definition.validate"
REGISTER = "task_definition.register"
SOURCE = "task_definition.source"

#: Environment-variable (and option) names whose values are masked in diffs and messages.
SECRET_NAME = re.compile(
    r"PASS|PWD|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|SIGNATURE|COOKIE|SESSION|SALT|DSN|CONN", re.IGNORECASE
)
MASK = "<masked>"
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:)(?P<password>[^@/\s]+)(?P<at>@)")

#: Valid Fargate task sizes (REFERENCE.md C.6): cpu units -> (first MiB, last MiB, step), or the explicit list.
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

RevisionStatus = Literal["registered", "unchanged", "existing", "planned"]


# -- the revision a register() gives -------------------------------------------------------------------------


@dataclass(frozen=True)
class Revision:
    """A task-definition revision as ``register()`` left it; ``ecs_service.deploy(revision)`` takes it.

    ``status`` says how it came about:

    - ``registered``: a new revision was registered in this run;
    - ``unchanged``: the payload equals the revision the service runs now, nothing was registered;
    - ``existing``: the payload equals the family's latest ACTIVE revision (registered earlier, not running yet),
      nothing was registered and that exact ARN is reused;
    - ``planned``: ``--plan`` and the payload differs: a revision *would* be registered, so ``arn`` and
      ``revision`` are None (the number is not known until ECS assigns it).

    ``images`` are the (container, image) pairs of the revision, in definition order.

    >>> revision = task_definition.with_image("app", ecr.image()).register()
    >>> revision.arn, revision.name, revision.is_new
    ('arn:aws:ecs:us-east-1:123456789012:task-definition/web:13', 'web:13', True)
    >>> revision.image("app")
    '123456789012.dkr.ecr.us-east-1.amazonaws.com/web@sha256:3f0c…'
    """

    family: str
    revision: int | None
    arn: str | None
    status: RevisionStatus
    images: tuple[tuple[str, str], ...] = ()

    @property
    def planned(self) -> bool:
        """True when ``--plan`` stopped a registration: there is no ARN to deploy."""
        return self.status == "planned"

    @property
    def is_new(self) -> bool:
        """True when this run registered the revision."""
        return self.status == "registered"

    @property
    def name(self) -> str:
        """``family:revision`` (``family:(planned)`` in a plan)."""
        return f"{self.family}:{self.revision}" if self.revision is not None else f"{self.family}:(planned)"

    def image(self, container: str) -> str:
        """The image of ``container`` in this revision; KeyError for a container it does not have."""
        for name, image in self.images:
            if name == container:
                return image
        raise KeyError(container)

    def __str__(self) -> str:
        return self.arn or self.name


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
        raise ActionError(f"{where}: expected a JSON object with a task definition, got {_kind(document)}.")
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


def _conform(value: Any, shape: Shape, path: str, where: str, top: bool = False) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, Mapping):
            raise ActionError(f"{where}: {path or 'the document'}: expected an object, got {_kind(value)}.")
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
            raise ActionError(f"{where}: {path}: expected a list, got {_kind(value)}.")
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
            raise ActionError(f"{where}: {path}: expected an object, got {_kind(value)}.")
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
            raise ActionError(f"{where}: {path}: expected a string, got {_kind(value)}.")
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
        raise ActionError(f"{where}: {path}: expected a whole number, got {_kind(value)}.")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ActionError(f"{where}: {path}: expected true or false, got {_kind(value)}.")
    if kind in ("double", "float"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ActionError(f"{where}: {path}: expected a number, got {_kind(value)}.") from None
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


def _kind(value: Any) -> str:
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
    ``essential`` true, port ``protocol`` tcp, ``hostPort`` equal to ``containerPort`` in awsvpc/host mode,
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


# -- masking and the diff ------------------------------------------------------------------------------------


def looks_secret(name: str) -> bool:
    """True for names like DB_PASSWORD, API_KEY, GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY (:data:`SECRET_NAME`)."""
    return bool(SECRET_NAME.search(name))


def mask_text(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@host`` replaced by the mask."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}{m.group('at')}", text)


def _masked_value(name: str, value: Any, other: Any) -> Any:
    if not isinstance(value, str):
        return value
    if looks_secret(name):
        return MASK if other is None or other == value else f"{MASK} (changed)"
    return mask_text(value)


def _diff_view(payload: Mapping[str, Any] | None, other: Mapping[str, Any] | None) -> dict[str, Any]:
    """The normalised payload as people read it: environment, secrets and tags as objects, secret-looking
    values masked (marked "(changed)" on the new side when they differ from ``other``)."""
    if payload is None:
        return {}
    view = normalise(payload)
    others = {
        c.get("name"): c for c in (normalise(other).get("containerDefinitions", []) if other is not None else [])
    }
    for container in view.get("containerDefinitions", []):
        peer = others.get(container.get("name"), {})
        peer_env = {item.get("name"): item.get("value") for item in peer.get("environment", [])}
        if "environment" in container:
            container["environment"] = {
                item.get("name"): _masked_value(str(item.get("name")), item.get("value"),
                                                peer_env.get(item.get("name")))
                for item in container["environment"]
            }
        if "secrets" in container:
            container["secrets"] = {item.get("name"): item.get("valueFrom") for item in container["secrets"]}
        for key in ("dockerLabels",):
            if isinstance(container.get(key), dict):
                container[key] = {k: _masked_value(k, v, None) for k, v in container[key].items()}
        log = container.get("logConfiguration")
        if isinstance(log, dict) and isinstance(log.get("options"), dict):
            log["options"] = {k: _masked_value(k, v, None) for k, v in log["options"].items()}
        for key in ("command", "entryPoint"):
            if isinstance(container.get(key), list):
                container[key] = [mask_text(part) if isinstance(part, str) else part for part in container[key]]
    if "tags" in view:
        view["tags"] = {tag.get("key"): tag.get("value") for tag in view["tags"]}
    return view


def render_diff(old: Mapping[str, Any] | None, new: Mapping[str, Any], old_label: str, new_label: str) -> str:
    """A unified diff of two payloads in their readable, masked form; ``""`` when they normalise equal."""
    if old is not None and normalise(old) == normalise(new):
        return ""
    old_text = json.dumps(_diff_view(old, None), indent=2, sort_keys=True).splitlines() if old is not None else []
    new_text = json.dumps(_diff_view(new, old), indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(old_text, new_text, fromfile=old_label, tofile=new_label, lineterm=""))


# -- validation (no AWS) -------------------------------------------------------------------------------------


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
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")


def split_image_reference(reference: str) -> tuple[str | None, str, str | None, str | None]:
    """``(domain, path, tag, digest)`` of an image reference, by Docker's rules (a first component is a
    registry when it has a ``.`` or ``:`` or is ``localhost``); no validation."""
    rest, _, digest = reference.partition("@")
    domain: str | None = None
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        domain, rest = first, remainder
    path, colon, tag = rest.rpartition(":") if ":" in rest else (rest, "", "")
    return domain, path, (tag if colon else None), (digest or None)


def image_reference_problem(reference: Any) -> str | None:
    """Why ``reference`` is not a well-formed image reference, or None when it is."""
    if not isinstance(reference, str) or not reference.strip():
        return "is empty"
    if reference != reference.strip() or any(ch.isspace() for ch in reference):
        return f"'{reference}' contains whitespace"
    if len(reference) > 255:
        return f"'{reference[:40]}…' is longer than 255 characters"
    domain, path, tag, digest = split_image_reference(reference)
    if domain is not None and not _DOMAIN.fullmatch(domain):
        return f"'{reference}' has an invalid registry '{domain}'"
    if not _PATH.fullmatch(path):
        if path.lower() != path and _PATH.fullmatch(path.lower()):
            return f"'{reference}' has upper-case letters in the repository '{path}' (repositories are lowercase)"
        return f"'{reference}' has an invalid repository '{path}'"
    if tag is not None and not _TAG.fullmatch(tag):
        return f"'{reference}' has an invalid tag '{tag}'"
    if digest is not None and not _DIGEST.fullmatch(digest):
        return f"'{reference}' has an invalid digest '{digest}' (expected sha256: and 64 hex digits)"
    return None


def validate_payload(payload: Mapping[str, Any]) -> list[str]:
    """Every problem of ``payload`` that can be found without AWS, each a sentence naming the container and
    field: Fargate cpu/memory pairs and network mode, essential containers, container memory within task
    memory, image references, port mappings, dependsOn/links/volumesFrom/mountPoints references, duplicate
    names. An empty list means valid."""
    problems: list[str] = []
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
        for item in container.get("secrets") or []:
            if not str(item.get("valueFrom") or "").strip():
                problems.append(f"{label} secrets {item.get('name')}: valueFrom is empty.")
    if memory is not None and reserved > memory:
        problems.append(
            f"containerDefinitions: the containers reserve {reserved} MiB in total, more than the task's memory "
            f"{memory} MiB."
        )
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


# -- secret references ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretRef:
    """One reference to a secret: where it is used and what it points at (never its value)."""

    container: str
    field: str          # "secrets FOO", "logConfiguration.secretOptions apikey", "repositoryCredentials"
    value_from: str

    @property
    def service(self) -> Literal["secretsmanager", "ssm"]:
        return "secretsmanager" if ":secretsmanager:" in self.value_from else "ssm"

    @property
    def region(self) -> str | None:
        """The region of an ARN reference, None for a bare parameter name (the task's region)."""
        parts = self.value_from.split(":")
        return parts[3] if self.value_from.startswith("arn:") and len(parts) > 5 else None

    @property
    def account(self) -> str | None:
        parts = self.value_from.split(":")
        return parts[4] if self.value_from.startswith("arn:") and len(parts) > 5 else None

    @property
    def lookup_id(self) -> str:
        """The secret ARN without a JSON key / version suffix, or the SSM parameter name."""
        if self.service == "secretsmanager":
            return ":".join(self.value_from.split(":")[:7])
        if self.value_from.startswith("arn:"):
            resource = self.value_from.split(":", 5)[5]
            name = resource.partition("/")[2]
            return f"/{name}" if "/" in name else name
        return self.value_from


def secret_references(payload: Mapping[str, Any]) -> list[SecretRef]:
    """Every secret reference of ``payload``: container ``secrets``, log-driver ``secretOptions`` and
    ``repositoryCredentials``."""
    refs: list[SecretRef] = []
    for container in payload.get("containerDefinitions") or []:
        name = str(container.get("name"))
        for item in container.get("secrets") or []:
            refs.append(SecretRef(name, f"secrets {item.get('name')}", str(item.get("valueFrom") or "")))
        for item in (container.get("logConfiguration") or {}).get("secretOptions") or []:
            refs.append(SecretRef(name, f"logConfiguration.secretOptions {item.get('name')}",
                                  str(item.get("valueFrom") or "")))
        credentials = (container.get("repositoryCredentials") or {}).get("credentialsParameter")
        if credentials:
            refs.append(SecretRef(name, "repositoryCredentials credentialsParameter", str(credentials)))
    return [ref for ref in refs if ref.value_from]


# -- the fixture's class -------------------------------------------------------------------------------------


@dataclass
class _Described:
    arn: str
    family: str
    revision: int
    status: str
    payload: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.family}:{self.revision}"


@dataclass
class _Source:
    payload: dict[str, Any]
    label: str
    requested_images: dict[str, str] = field(default_factory=dict)


class TaskDefinition:
    """The ``task_definition`` fixture: the scenario service's next task definition, built from a source and a
    few changes, validated, diffed against the running revision and registered once.

    Example::

        def test_register_revision(task_definition, ecr):
            task_definition.with_image("app", ecr.image())               # only 'app'; sidecars keep theirs
            task_definition.with_environment("app", LOG_LEVEL="info")
            print(task_definition.diff())                                # masked unified diff
            revision = task_definition.register()                        # validates first; idempotent
            assert revision.image("app").endswith(ecr.image().digest)

    Sources: :meth:`current` (the running revision, with its tags) or :meth:`from_file` (a ``${VAR}`` template);
    without either, the service's ``task_definition`` key, else the running revision. Every change returns
    ``self``. In ``--plan`` :meth:`register` prints the diff and registers nothing.
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._source: _Source | None = None
        self._running_cache: tuple[_Described | None] | None = None
        self._final_cache: dict[str, Any] | None = None
        self._validated: dict[str, Any] | None = None
        self._registered: Revision | None = None
        self._clients: dict[tuple[str, str], Any] = {}

    # -- sources ------------------------------------------------------------------------------------------

    def current(self) -> TaskDefinition:
        """Start from the revision the service runs now (DescribeServices -> DescribeTaskDefinition with TAGS)."""
        running = self._running()
        if running is None:
            svc = self.ctx.service
            raise ActionError(
                f"service '{svc.service_name}' is not running in cluster '{self.ctx.cluster}', so there is no "
                f"task definition to copy; create the service first or set task_definition in "
                f"[services.{svc.name}]."
            )
        self._set_source(running.payload, f"running revision {running.name}")
        self.ctx.checks.passed(SOURCE, "pre", "source", f"copied the running revision {running.name}")
        return self

    def from_file(self, path: str | Path | None = None) -> TaskDefinition:
        """Start from a JSON template: ``${VAR}`` filled from the environment's ``vars`` and ``--var``.

        ``path`` defaults to the service's ``task_definition`` key; a relative path is read from the directory
        of ecsdeploy.toml. A bare RegisterTaskDefinition document and describe-task-definition output are both
        accepted; read-only fields are dropped. Write ``$${`` for a literal ``${`` the container resolves itself.
        """
        template = self._template_path(path)
        try:
            text = template.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{template}: the task-definition template does not exist.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{template}: the task-definition template cannot be read ({exc}).") from None
        variables = {**dict(self.ctx.environment.variables), **dict(self.ctx.options.variables)}
        rendered = render_template(text, variables, str(template))
        try:
            document = json.loads(rendered)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{template}: line {exc.lineno}, column {exc.colno}: not valid JSON ({exc.msg})."
            ) from None
        try:
            payload = payload_from(document, str(template))
        except ActionError as exc:
            raise ConfigError(str(exc)) from None
        self._set_source(payload, str(template))
        self.ctx.checks.passed(SOURCE, "pre", "source", f"rendered {template} (family '{payload['family']}')")
        return self

    # -- changes ------------------------------------------------------------------------------------------

    def with_image(self, container: str, image: ImageRef | str) -> TaskDefinition:
        """Set ``container``'s image (an ``ImageRef`` gives its digest-pinned reference); other containers keep
        theirs. An unknown container name is an error listing the real ones."""
        reference = image if isinstance(image, str) else image.reference
        definition = self._container(container, "with_image")
        definition["image"] = reference
        assert self._source is not None
        self._source.requested_images[container] = reference
        self._changed()
        return self

    def with_environment(self, container: str, **values: str | int | float) -> TaskDefinition:
        """Set environment variables of ``container`` (replacing a variable of the same name, else appending)."""
        definition = self._container(container, "with_environment")
        environment = list(definition.get("environment") or [])
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise ActionError(
                    f"with_environment: container '{container}' {name}: expected a string, got {_kind(value)}."
                )
            _upsert(environment, name, {"name": name, "value": str(value)})
        definition["environment"] = environment
        self._changed()
        return self

    def with_secrets(self, container: str, **arns: str) -> TaskDefinition:
        """Set secrets of ``container``: name -> Secrets Manager ARN or SSM parameter name/ARN (never a value)."""
        definition = self._container(container, "with_secrets")
        secrets = list(definition.get("secrets") or [])
        for name, arn in arns.items():
            if not isinstance(arn, str) or not arn.strip():
                raise ActionError(
                    f"with_secrets: container '{container}' {name}: expected an ARN or parameter name, "
                    f"got {_kind(arn) if not isinstance(arn, str) else 'an empty string'}."
                )
            _upsert(secrets, name, {"name": name, "valueFrom": arn})
        definition["secrets"] = secrets
        self._changed()
        return self

    # -- what it is ---------------------------------------------------------------------------------------

    @property
    def payload(self) -> dict[str, Any]:
        """A copy of the RegisterTaskDefinition payload as it would be sent (the render hook applied)."""
        return copy.deepcopy(self._final())

    @property
    def family(self) -> str:
        return str(self._final()["family"])

    @property
    def containers(self) -> tuple[str, ...]:
        """The container names, in definition order."""
        return tuple(str(c.get("name")) for c in self._ensure_source().payload["containerDefinitions"])

    @property
    def deploy_containers(self) -> tuple[str, ...]:
        """The containers a deploy replaces: the service's ``containers`` key, else those whose image is in the
        service's ``repository`` (sidecars from other repositories keep theirs)."""
        return self.deploy_containers_of(self._ensure_source().payload)

    def deploy_containers_of(self, payload: Mapping[str, Any]) -> tuple[str, ...]:
        """The deploy containers (see :attr:`deploy_containers`) of any payload."""
        configured = self.ctx.service.containers
        if configured is not None:
            return tuple(configured)
        repository = self.ctx.service.repository
        if not repository:
            return ()
        return tuple(
            str(c.get("name")) for c in payload.get("containerDefinitions") or []
            if split_image_reference(str(c.get("image", "")))[1] == repository
        )

    @property
    def running(self) -> Revision | None:
        """The revision the service runs now, or None when the service does not exist (yet)."""
        running = self._running()
        return _revision(running, "unchanged") if running is not None else None

    @property
    def registered(self) -> Revision:
        """The revision :meth:`register` returned: the exact ARN to deploy (never "latest by family")."""
        if self._registered is None:
            raise ActionError(
                "task_definition.registered: no revision was registered yet; call task_definition.register() "
                "in an earlier step."
            )
        return self._registered

    # -- checks -------------------------------------------------------------------------------------------

    def validate(self) -> TaskDefinition:
        """Check the final payload before anything is written; every problem is reported at once.

        Records a check per rule that passed and one failed check listing every problem (which raises
        CheckFailed): Fargate cpu/memory, network mode, essential containers, memory, image references,
        references between containers and volumes, and secret references that must exist (Secrets Manager
        DescribeSecret / SSM DescribeParameters: metadata only, no value is read).
        """
        __tracebackhide__ = True
        payload = self._final()
        if self._validated is not None and normalise(self._validated) == normalise(payload):
            return self
        checks = self.ctx.checks
        problems = validate_payload(payload)
        for warning in payload_warnings(payload):
            self.ctx.log.warning(warning)
        secret_problems, secret_detail, unchecked = self._check_secrets(payload)
        problems += secret_problems
        if problems:
            count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
            checks.failed(VALIDATE, "pre", "task definition is valid",
                          f"family '{payload['family']}' has {count}: " + " ".join(problems))
        fargate = "FARGATE" in (payload.get("requiresCompatibilities") or ())
        if fargate:
            checks.passed(VALIDATE, "pre", "fargate size",
                          f"cpu {cpu_units(payload.get('cpu'))} / memory {memory_mib(payload.get('memory'))} MiB, "
                          f"networkMode awsvpc")
        essentials = [str(c["name"]) for c in payload["containerDefinitions"] if c.get("essential", True)]
        checks.passed(VALIDATE, "pre", "essential container", ", ".join(essentials))
        images = [f"{c['name']}={c.get('image')}" for c in payload["containerDefinitions"]]
        checks.passed(VALIDATE, "pre", "image references", "; ".join(images))
        if secret_detail:
            if unchecked:
                checks.skipped(VALIDATE, "pre", "secrets exist", secret_detail)
            else:
                checks.passed(VALIDATE, "pre", "secrets exist", secret_detail)
        self._validated = copy.deepcopy(payload)
        return self

    def diff(self) -> str:
        """A unified diff of the running revision and this payload, secret-looking values masked; ``""`` when
        they are equal. Without a running revision every line is an addition."""
        payload = self._final()
        running = self._running()
        old = running.payload if running is not None else None
        old_label = f"{running.name} (running)" if running is not None else "(no running revision)"
        return render_diff(old, payload, old_label, f"{payload['family']} (new)")

    # -- the write ----------------------------------------------------------------------------------------

    def register(self) -> Revision:
        """Register the payload as a new revision, unless an identical one exists; returns the Revision to deploy.

        Validates first. When the normalised payload equals the running revision (or the family's latest ACTIVE
        revision), nothing is registered and that exact ARN is returned. Post-checks: the new revision is ACTIVE
        and carries the requested images. In ``--plan`` the diff is printed and a ``planned`` Revision returned.
        """
        __tracebackhide__ = True
        self.validate()
        payload = self._final()
        checks, log, record = self.ctx.checks, self.ctx.log, self.ctx.record
        running = self._running()
        record.image_after = self._deploy_image(payload) or record.image_after
        wanted = normalise(payload)
        if running is not None and normalise(running.payload) == wanted:
            checks.passed(REGISTER, "pre", "already registered",
                          f"the payload equals the running revision {running.name}; nothing registered")
            log.info(f"task definition unchanged: {running.name} is already running")
            return self._done(_revision(running, "unchanged"))
        diff = render_diff(running.payload if running else None, payload,
                           f"{running.name} (running)" if running else "(no running revision)",
                           f"{payload['family']} (new)")
        latest = self._latest_active(str(payload["family"]))
        if latest is not None and (running is None or latest.arn != running.arn) and \
                normalise(latest.payload) == wanted:
            checks.passed(REGISTER, "pre", "already registered",
                          f"the payload equals {latest.name}, the family's latest ACTIVE revision; reusing it")
            log.info(f"task definition {latest.name} already holds this payload; reusing it")
            self._log_diff(diff)
            return self._done(_revision(latest, "existing"))
        self._log_diff(diff)
        if self.ctx.options.plan:
            checks.skipped(REGISTER, "pre", "register",
                           f"plan: would register a new revision of family '{payload['family']}'")
            planned = Revision(family=str(payload["family"]), revision=None, arn=None, status="planned",
                               images=_images(payload))
            record.revision_after = None
            self._registered = planned
            return planned
        sent = dict(_images(payload))
        for name, image in self._ensure_source().requested_images.items():
            if sent.get(name) != image:
                log.warning(f"the render hook changed the image of container '{name}' from {image} to {sent.get(name)}")
        self.ctx.aws.ensure_account()
        from botocore.exceptions import BotoCoreError, ClientError

        ecs = self.ctx.aws.client("ecs")
        try:
            answer = ecs.register_task_definition(**payload)
        except (ClientError, BotoCoreError) as exc:
            raise ActionError(
                f"RegisterTaskDefinition refused family '{payload['family']}': {mask_text(error_message(exc))}.",
                code=error_code(exc),
            ) from None
        arn = str(answer["taskDefinition"]["taskDefinitionArn"])
        log.info(f"registered {arn}")
        described = self._describe(arn)
        checks.expect(described.status == "ACTIVE", REGISTER, "post", "revision is ACTIVE",
                      f"{described.name} is {described.status}")
        sent = dict(_images(payload))
        requested = {name: sent.get(name, image) for name, image in self._ensure_source().requested_images.items()}
        actual = dict(_images(described.payload))
        wrong = [f"{name}: {actual.get(name)} instead of {image}" for name, image in requested.items()
                 if actual.get(name) != image]
        checks.expect(not wrong, REGISTER, "post", "carries the requested images",
                      "; ".join(wrong) if wrong else
                      (", ".join(f"{n}={i}" for n, i in requested.items()) or "no image was changed"))
        changed = differences(wanted, normalise(described.payload))
        if changed:
            log.warning(
                f"{described.name} differs from the payload sent at: {', '.join(changed[:8])}; ECS changed them"
            )
        return self._done(_revision(described, "registered"))

    # -- internals ----------------------------------------------------------------------------------------

    def _done(self, revision: Revision) -> Revision:
        self._registered = revision
        self.ctx.record.revision_after = revision.arn
        return revision

    def _log_diff(self, diff: str) -> None:
        if not diff:
            return
        self.ctx.log.info("task definition diff:")
        for line in diff.splitlines():
            self.ctx.log.info(line)

    def _deploy_image(self, payload: Mapping[str, Any]) -> str | None:
        images = dict(_images(payload))
        for name in self.deploy_containers:
            if name in images:
                return images[name]
        return None

    def _template_path(self, path: str | Path | None) -> Path:
        if path is None:
            configured = self.ctx.service.task_definition
            if configured is None:
                raise ConfigError(
                    f"[services.{self.ctx.service.name}] has no task_definition key; pass a path to "
                    f"task_definition.from_file(path) or copy the running revision with .current()."
                )
            return Path(configured)
        candidate = Path(path)
        if not candidate.is_absolute() and self.ctx.base_dir is not None:
            candidate = Path(self.ctx.base_dir) / candidate
        return candidate

    def _ensure_source(self) -> _Source:
        if self._source is None:
            if self.ctx.service.task_definition is not None:
                self.from_file()
            else:
                self.current()
        assert self._source is not None
        return self._source

    def _set_source(self, payload: dict[str, Any], label: str) -> None:
        self._source = _Source(payload=copy.deepcopy(payload), label=label)
        self._changed()

    def _changed(self) -> None:
        self._final_cache = None

    def _container(self, name: str, method: str) -> dict[str, Any]:
        source = self._ensure_source()
        for container in source.payload["containerDefinitions"]:
            if container.get("name") == name:
                return container  # type: ignore[no-any-return]
        real = ", ".join(str(c.get("name")) for c in source.payload["containerDefinitions"])
        close = difflib.get_close_matches(name, self.containers, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ActionError(
            f"{method}: there is no container '{name}' in family '{source.payload['family']}' "
            f"({source.label}); {hint}its containers are: {real}."
        )

    def _final(self) -> dict[str, Any]:
        """The payload after the render hook, conformed to the model again (the hook may add anything)."""
        if self._final_cache is None:
            source = self._ensure_source()
            candidate = copy.deepcopy(source.payload)
            self.ctx.hooks.render_task_definition(candidate)
            self._final_cache = payload_from(candidate, "the task definition after the render hook")
        return self._final_cache

    def _running(self) -> _Described | None:
        if self._running_cache is None:
            self._running_cache = (self._find_running(),)
        return self._running_cache[0]

    def _find_running(self) -> _Described | None:
        svc = self.ctx.service
        ecs = self.ctx.aws.client("ecs")
        try:
            answer = ecs.describe_services(cluster=self.ctx.cluster, services=[svc.service_name])
        except Exception as exc:
            if error_code(exc) == "ClusterNotFoundException":
                self.ctx.log.info(f"cluster '{self.ctx.cluster}' does not exist; no running task definition")
                return None
            raise ActionError(
                f"could not describe service '{svc.service_name}' in cluster '{self.ctx.cluster}' "
                f"({error_message(exc)}).",
                code=error_code(exc),
            ) from None
        services = [s for s in answer.get("services", []) if s.get("status") != "INACTIVE"]
        if not services or not services[0].get("taskDefinition"):
            return None
        described = self._describe(str(services[0]["taskDefinition"]))
        self.ctx.record.revision_before = described.arn
        if self.ctx.record.image_before is None:
            images = dict(_images(described.payload))
            first = next((images[n] for n in self.deploy_containers_of(described.payload) if n in images), None)
            self.ctx.record.image_before = first
        return described

    def _describe(self, arn: str) -> _Described:
        ecs = self.ctx.aws.client("ecs")
        try:
            answer = ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        except Exception as exc:
            raise ActionError(
                f"could not describe task definition {arn} ({error_message(exc)}).", code=error_code(exc)
            ) from None
        body = answer["taskDefinition"]
        payload = payload_from({"taskDefinition": body, "tags": answer.get("tags") or []}, f"revision {arn}")
        return _Described(
            arn=str(body["taskDefinitionArn"]),
            family=str(body["family"]),
            revision=int(body["revision"]),
            status=str(body.get("status", "ACTIVE")),
            payload=payload,
        )

    def _latest_active(self, family: str) -> _Described | None:
        ecs = self.ctx.aws.client("ecs")
        try:
            arns = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE", sort="DESC",
                                             maxResults=10)["taskDefinitionArns"]
        except Exception as exc:
            self.ctx.log.warning(f"could not list revisions of family '{family}' ({error_message(exc)})")
            return None
        exact = [arn for arn in arns if arn.rsplit("/", 1)[-1].rpartition(":")[0] == family]
        if not exact:
            return None
        latest = max(exact, key=lambda arn: int(arn.rpartition(":")[2]))
        return self._describe(latest)

    def _regional(self, service: str, region: str | None) -> Any:
        region = region or self.ctx.environment.region
        if region == self.ctx.environment.region:
            return self.ctx.aws.client(service)
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.ctx.aws.session.client(
                service, region_name=region, endpoint_url=self.ctx.aws.endpoint_url, config=client_config()
            )
        return self._clients[key]

    def _check_secrets(self, payload: Mapping[str, Any]) -> tuple[list[str], str, bool]:
        """(problems, detail for the check, whether some references could not be checked)."""
        refs = secret_references(payload)
        if not refs:
            return [], "", False
        problems: list[str] = []
        unchecked: set[str] = set()
        outcome: dict[tuple[str, str | None, str], str | None] = {}
        caller: list[str | None] = []
        for ref in refs:
            key = (ref.service, ref.region, ref.lookup_id)
            if key not in outcome:
                if ref.account is not None and not caller:
                    caller.append(self._caller_account())
                if ref.account is not None and caller[0] is not None and ref.account != caller[0]:
                    outcome[key] = f"unchecked: in account {ref.account}, not the deployment's"
                else:
                    outcome[key] = self._secret_problem(ref)
            result = outcome[key]
            if result is None:
                continue
            if result.startswith("unchecked: "):
                unchecked.add(f"{ref.value_from} ({result[len('unchecked: '):]})")
            else:
                problems.append(f"container '{ref.container}' {ref.field}: {result}.")
        services = {(ref.service, ref.lookup_id) for ref in refs}
        managers = sum(1 for service, _ in services if service == "secretsmanager")
        detail = f"{managers} Secrets Manager and {len(services) - managers} SSM references exist"
        if unchecked:
            detail = f"not checked: {'; '.join(sorted(unchecked))}"
        return problems, detail, bool(unchecked)

    def _caller_account(self) -> str | None:
        try:
            return self.ctx.aws.account_id
        except ActionError:
            return None

    def _secret_problem(self, ref: SecretRef) -> str | None:
        """None when the secret exists; else a problem, or ``unchecked: <why>`` when it cannot be told."""
        from botocore.exceptions import BotoCoreError, ClientError

        region = ref.region or self.ctx.environment.region
        try:
            if ref.service == "secretsmanager":
                answer = self._regional("secretsmanager", region).describe_secret(SecretId=ref.lookup_id)
                if answer.get("DeletedDate"):
                    return f"Secrets Manager secret {ref.lookup_id} is scheduled for deletion"
                return None
            found = self._regional("ssm", region).describe_parameters(
                ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [ref.lookup_id]}]
            ).get("Parameters", [])
            return None if found else f"SSM parameter {ref.lookup_id} does not exist in {region}"
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                return f"Secrets Manager secret {ref.lookup_id} does not exist in {region}"
            if code in ("AccessDeniedException", "AccessDenied"):
                return f"unchecked: not allowed to describe it ({code})"
            return f"unchecked: {error_message(exc)}"
        except BotoCoreError as exc:
            raise ActionError(
                f"could not check the secret {ref.lookup_id} of container '{ref.container}' ({exc})."
            ) from None


def _upsert(items: list[dict[str, Any]], name: str, entry: dict[str, Any]) -> None:
    for index, item in enumerate(items):
        if item.get("name") == name:
            items[index] = entry
            return
    items.append(entry)


def _images(payload: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((str(c.get("name")), str(c.get("image"))) for c in payload.get("containerDefinitions") or [])


def _revision(described: _Described, status: RevisionStatus) -> Revision:
    return Revision(family=described.family, revision=described.revision, arn=described.arn, status=status,
                    images=_images(described.payload))
