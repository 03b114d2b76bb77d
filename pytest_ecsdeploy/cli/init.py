"""``ecsdeploy init``: from a service that runs, what a team needs to deploy it with pytest from then on.

It reads the service (DescribeServices) and the revision it runs (DescribeTaskDefinition with its tags), and
writes, overwriting nothing:

- ``DIR/SERVICE/taskdef.json``: the revision as a RegisterTaskDefinition template. The fields only
  DescribeTaskDefinition has (taskDefinitionArn, revision, status, requiresAttributes, compatibilities,
  registeredAt/By, deregisteredAt …) are dropped; the caller's account id and the environment's region become
  ``${ACCOUNT_ID}`` and ``${REGION}`` wherever they appear, the deployed containers' image tag becomes
  ``${IMAGE_TAG}`` (the run's ``--image-tag``), a ``${`` already in a value is written ``$${`` so it stays as
  it is, and empty lists and objects (ECS's answer for what was not set) are left out. An environment variable
  whose name looks secret is named in a warning (its value never): it belongs in ``secrets``. Before anything
  is written, the template is rendered back with the values read and compared with the running revision in
  the form registration compares them (``normalise``): it must be the same task definition.
- ``DIR/test_SERVICE.py``: a scenario in the project's style (the image checked in ECR when it is there, the
  revision registered, the service updated and watched).
- ``[services.SERVICE]`` appended to ``DIR/ecsdeploy.toml`` (with ``[environments.ENV]`` first when the
  environment is new, which ``--cluster`` and ``--backend`` describe); no other table is rewritten.

Refused with one sentence and exit 4: a file that exists, a ``[services.SERVICE]`` already in the file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..actions.reads import describe_service
from ..actions.taskdef.payload import differences, normalise, payload_from
from ..actions.taskdef.revision import describe
from ..actions.watch import running_revision
from ..arns import parse_image, short_revision
from ..config import BACKENDS, ConfigFile, load_config
from ..context import RunOptions
from ..errors import ActionError, ConfigError
from ..options import parse_vars
from ..redact import looks_secret
from ..run import Run
from ..tomlfile import render_template
from .common import EXIT_OK, Output, add_common_arguments, config_path

HELP = "write the service table, a task-definition template and a scenario from a service that runs"
DESCRIPTION = """\
Read a running service and write what deploys it from then on: DIR/SERVICE/taskdef.json (the running revision
as a template: read-only fields dropped, account id, region and image tag as ${ACCOUNT_ID}, ${REGION} and
${IMAGE_TAG}), a scenario DIR/test_SERVICE.py, and the [services.SERVICE] table appended to DIR/ecsdeploy.toml
(created, with [environments.ENV], when missing). Nothing is overwritten: an existing file or table is refused.
"""
SERVICE_NAME = re.compile(r"[A-Za-z0-9_-]+\Z")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_common_arguments(parser, service="required",
                         service_help="the ECS service to read, and the name of the [services.NAME] table to write")
    parser.add_argument("--container", action="append", default=[], metavar="NAME",
                        help="a container whose image a deploy replaces (repeatable; default: the first essential "
                             "container that is not a log router, and those running the same image)")
    new = parser.add_argument_group("a new environment (only when DIR/ecsdeploy.toml has no [environments.ENV])")
    new.add_argument("--cluster", metavar="NAME", help="the ECS cluster the service runs in")
    new.add_argument("--backend", choices=BACKENDS, help="where the AWS API is (default: aws)")
    new.add_argument("--region", metavar="REGION", help="the AWS region (default: us-east-1)")
    new.add_argument("--endpoint-url", metavar="URL", help="a running ecsdeploy-emulator or LocalStack")


def run(args: argparse.Namespace, out: Output) -> int:
    name = args.service
    if not SERVICE_NAME.match(name):
        raise ConfigError(f"--service expects an ECS service name (letters, digits, - and _), got '{name}'.")
    path = config_path(args)
    base = path.parent
    template_path = base / name / "taskdef.json"
    scenario_path = base / f"test_{name.replace('-', '_')}.py"
    for target in (template_path, scenario_path):
        if target.exists():
            raise ConfigError(f"{target} exists; ecsdeploy init overwrites nothing.")
    existed = path.exists()
    config, new_environment = _config(args, path)
    if name in config.services:
        raise ConfigError(f"[services.{name}] is already in {path}; ecsdeploy init overwrites nothing.")
    options = RunOptions(variables=parse_vars(args.var, "--var"), rollback=False)
    the_run = Run(config.resolve(args.env, options.variables, dict(os.environ)), options)
    try:
        env = the_run.deployment.environment
        aws = the_run.aws()
        who = f"service '{name}'"
        account = aws.ensure_account()
        service = describe_service(aws, env.cluster, name, who=who, required=True)
        assert service is not None
        arn = running_revision(service)
        if not arn:
            raise ActionError(f"{who} in cluster '{env.cluster}' runs no task definition to copy.")
        revision = describe(aws, arn, who=who)
        containers = _deploy_containers(revision.payload, args.container)
        template, tag = template_of(revision.payload, account=account, region=env.region, containers=containers)
        text = json.dumps(template, indent=2) + "\n"
        _check_round_trip(text, revision.payload, {"ACCOUNT_ID": account, "REGION": env.region, "IMAGE_TAG": tag},
                          str(template_path))
        images = {str(c.get("name")): str(c.get("image")) for c in revision.payload["containerDefinitions"]}
        image = parse_image(images[containers[0]])
        repository = image.repository if image.account == account and image.region == env.region else None
        template_path.parent.mkdir(parents=True, exist_ok=True)
        template_path.write_text(text, encoding="utf-8")
        scenario_path.write_text(scenario(name, env.cluster, revision.name, repository,
                                          path.parent, args.env, tag), encoding="utf-8")
        with path.open("a", encoding="utf-8") as toml:
            if new_environment is not None:
                toml.write(_table(f"environments.{args.env}", {**new_environment, **(
                    {"account_id": account} if new_environment["backend"] == "aws" else {})}))
            toml.write(_table(f"services.{name}", {
                "task_definition": f"{name}/taskdef.json", "containers": list(containers),
                **({"repository": repository} if repository else {}),
            }, comment=f"written by ecsdeploy init from service {name} of cluster {env.cluster} ({revision.name})"))
    finally:
        the_run.close()
    out.line(f"read service {name} of cluster {env.cluster}: {short_revision(arn)}, containers "
             f"{', '.join(images)}; deployed containers: {', '.join(containers)} (image tag {tag})")
    for written in (template_path, scenario_path):
        out.line(f"wrote {written}")
    out.line(f"{'added to' if existed else 'wrote'} {path}: "
             + (f"[environments.{args.env}], " if new_environment is not None else "") + f"[services.{name}]")
    for container in revision.payload["containerDefinitions"]:
        secret = [str(e.get("name")) for e in container.get("environment") or [] if looks_secret(str(e.get("name")))]
        if secret:
            out.warning(f"container {container.get('name')} sets {', '.join(secret)} in its environment, now in "
                        f"{template_path} as plain text; move them to secrets (ARNs) before committing it")
    out.line(f"next: pytest {base} --env {args.env} --image-tag {tag} --plan  (shows no change), then a new tag")
    return EXIT_OK


# -- the template -----------------------------------------------------------------------------------------------


def template_of(payload: Mapping[str, Any], *, account: str, region: str,
                containers: tuple[str, ...]) -> tuple[dict[str, Any], str]:
    """``payload`` (a RegisterTaskDefinition payload) as a template, and the image tag it runs (``latest`` for an
    image without one): see the module docstring. An image pinned by digest cannot take a tag and is refused."""
    account_at = re.compile(rf"(?<![0-9]){re.escape(account)}(?![0-9])")
    region_at = re.compile(rf"(?<![A-Za-z0-9-]){re.escape(region)}(?![A-Za-z0-9-])")

    def text(value: str) -> str:
        value = value.replace("${", "$${")
        return region_at.sub("${REGION}", account_at.sub("${ACCOUNT_ID}", value))

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, Mapping):  # empty lists and objects are what ECS assumes anyway: not written
            return {str(key).replace("${", "$${"): walk(item) for key, item in value.items() if item not in ([], {})}
        return value

    template = walk(payload)
    tags = set()
    for container in template["containerDefinitions"]:
        if container.get("name") not in containers:
            continue
        image = parse_image(str(container.get("image", "")))
        if image.digest is not None:
            raise ConfigError(f"container '{container['name']}' runs an image pinned by digest ({image}); "
                              f"ecsdeploy init writes ${{IMAGE_TAG}} in its place only for a tagged image.")
        tags.add(image.tag or "latest")
        container["image"] = f"{image.name}:${{IMAGE_TAG}}"
    if len(tags) > 1:
        raise ConfigError(f"the containers {', '.join(containers)} run different image tags "
                          f"({', '.join(sorted(tags))}); name the ones a deploy replaces with --container.")
    return template, tags.pop()


def _check_round_trip(text: str, running: Mapping[str, Any], values: Mapping[str, str], where: str) -> None:
    """The template, rendered with the values read, must be the running revision (in normalised form)."""
    rendered = payload_from(json.loads(render_template(text, values, where)), where)
    changed = differences(normalise(running), normalise(rendered))
    if changed:
        raise ActionError(f"{where}: the template would not render back to the running revision (it differs at "
                          f"{', '.join(changed[:5])}); nothing was written.")


def _deploy_containers(payload: Mapping[str, Any], named: list[str]) -> tuple[str, ...]:
    """The containers a deploy replaces: ``named``, else the first essential container that is not a log router,
    and every container running the same image."""
    definitions = list(payload["containerDefinitions"])
    names = [str(c.get("name")) for c in definitions]
    if named:
        unknown = [n for n in named if n not in names]
        if unknown:
            raise ConfigError(f"--container '{unknown[0]}' is not a container of family '{payload['family']}'; "
                              f"its containers are: {', '.join(names)}.")
        return tuple(dict.fromkeys(named))
    apps = [c for c in definitions if not c.get("firelensConfiguration")] or definitions
    first = next((c for c in apps if c.get("essential", True)), apps[0])
    repository = parse_image(str(first.get("image", ""))).name
    return tuple(str(c.get("name")) for c in definitions if parse_image(str(c.get("image", ""))).name == repository)


# -- the scenario and the configuration --------------------------------------------------------------------------


def scenario(name: str, cluster: str, revision: str, repository: str | None, folder: Path, env: str,
             tag: str) -> str:
    """The scenario module for service ``name``, in the style of deployments/test_web.py."""
    image_step = '''

def test_image_is_published(ecr):
    ecr.image()  # --image-tag -> digest; fails if the tag is missing or has CRITICAL findings
''' if repository else ""
    return f'''"""Roll out {name}: render its task definition with the release's image tag, register the revision,
update the service and watch it.

    pytest {folder} --env {env} --image-tag {tag} --plan      what a deploy would change (nothing: {tag} runs now)
    pytest {folder} --env {env} --image-tag TAG               deploy TAG

Written by ecsdeploy init from service {name} of cluster {cluster} ({revision}).
"""

import pytest

pytestmark = pytest.mark.ecs_service("{name}")
{image_step}

def test_register_revision(task_definition):
    task_definition.register()  # {name}/taskdef.json, ${{IMAGE_TAG}} = --image-tag; an identical revision is reused


def test_roll_out(ecs_service, task_definition):
    ecs_service.deploy(task_definition.registered)  # watches the rollout; rolls back if it or a later step fails
'''


def _config(args: argparse.Namespace, path: Path) -> tuple[ConfigFile, dict[str, Any] | None]:
    """The configuration to resolve ``--env`` in, and the new environment's table when init adds one (None when
    the file has it: then the options for a new environment are refused)."""
    config = load_config(path) if path.exists() else ConfigFile(path=path, defaults={}, environments={}, services={})
    new_options = {"--cluster": args.cluster, "--backend": args.backend, "--region": args.region,
                   "--endpoint-url": args.endpoint_url}
    if args.env in config.environments:
        given = [flag for flag, value in new_options.items() if value is not None]
        if given:
            raise ConfigError(f"{given[0]} describes a new environment, but {path} has [environments.{args.env}] "
                              f"already.")
        return config, None
    if args.cluster is None:
        raise ConfigError(f"{path} has no [environments.{args.env}]; pass --cluster NAME (and --backend, --region) "
                          f"to add it.")
    table: dict[str, Any] = {"backend": args.backend or "aws", "cluster": args.cluster}
    if args.region:
        table["region"] = args.region
    if args.endpoint_url:
        table["endpoint_url"] = args.endpoint_url
    environments = {**config.environments, args.env: table}
    return ConfigFile(path=path, defaults=config.defaults, environments=environments,
                      services=config.services), table


def _table(name: str, values: Mapping[str, Any], comment: str | None = None) -> str:
    """A TOML table (strings and lists of strings), to append: JSON's string escapes are TOML's."""
    lines = ["", f"[{name}]"] + ([f"# {comment}"] if comment else [])
    lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"
