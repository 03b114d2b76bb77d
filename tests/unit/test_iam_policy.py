"""docs/iam-policy.json allows every AWS call pytest-ecsdeploy makes, and nothing else.

The calls are collected from the source (``pytest_ecsdeploy/``, the embedded local AWS excluded) with ``ast``:

- a method called on a boto3 client: ``ctx.aws.client("ecs").describe_services(...)``, a name bound to one
  (``ecs = self.ctx.aws.client("ecs")``), or a helper method that returns one (``self._client().put_image``,
  ``self._regional("ssm", region).describe_parameters``);
- ``client.get_paginator("describe_images")`` and ``client.get_waiter("services_stable")`` (the waiter's operation);
- the operation names given to a module's call helper: ``self._call("update_service")`` where ``_call`` does
  ``getattr(<client>, operation)(...)`` (the service from a constant, an argument or the parameter's default).

Each snake_case method is mapped to its API operation through botocore's service model, and the boto3 client
name to the IAM prefix (``elbv2`` -> ``elasticloadbalancing``): ``ecs:DescribeServices``.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pytest_ecsdeploy"
POLICY = ROOT / "docs" / "iam-policy.json"
POLICY_DOC = ROOT / "docs" / "iam-policy.md"

#: boto3 client name -> IAM service prefix (where they differ, the IAM prefix is not the endpoint prefix either).
IAM_PREFIX = {"ecs": "ecs", "ecr": "ecr", "elbv2": "elasticloadbalancing", "cloudwatch": "cloudwatch",
              "secretsmanager": "secretsmanager", "ssm": "ssm", "sts": "sts", "logs": "logs",
              "dynamodb": "dynamodb", "codedeploy": "codedeploy"}
#: Calls that need no statement in the deployment role's policy, and why (docs/iam-policy.md says the same).
NOT_IN_POLICY = {
    "sts:GetCallerIdentity": "needs no permission: any identity may ask who it is",
    "sts:AssumeRole": "is made with the worker's own credentials, before the role is assumed",
}
#: Actions with no boto3 call of their own, allowed because a collected call needs them.
IMPLIED = {
    "iam:PassRole": ("ecs:RegisterTaskDefinition", "ecs:RunTask"),  # task and execution roles
    "ecr:BatchCheckLayerAvailability": ("ecr:GetAuthorizationToken",),  # docker push after the login of ecr.push()
    "ecr:InitiateLayerUpload": ("ecr:GetAuthorizationToken",),
    "ecr:UploadLayerPart": ("ecr:GetAuthorizationToken",),
    "ecr:CompleteLayerUpload": ("ecr:GetAuthorizationToken",),
    "codedeploy:RegisterApplicationRevision": ("codedeploy:CreateDeployment",),  # the AppSpec becomes a revision
    # CreateDeployment with overrideAlarmConfiguration (a rollback through a group with alarms)
    "codedeploy:UpdateDeploymentGroup": ("codedeploy:CreateDeployment",),
}
CLIENT_METHODS = {"get_paginator", "get_waiter", "can_paginate", "close", "generate_presigned_url"}


# -- collecting the calls ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A value known statically: a constant string, a parameter holding a string (``param``), or a parameter
    holding a boto3 client (``client_param``)."""

    const: str | None = None
    param: str | None = None
    client_param: str | None = None


@dataclass(frozen=True)
class Call:
    service: str
    method: str  # snake_case operation
    where: str  # path:line


@dataclass
class _Helper:
    """A function that returns a client (``returns``), or calls operations it is given a part of (``calls``:
    (client ref, operation ref) pairs, resolved where the function is called)."""

    node: ast.FunctionDef
    returns: Ref | None = None
    calls: list[tuple[Ref, Ref]] = field(default_factory=list)


def _params(node: ast.FunctionDef) -> tuple[list[str], dict[str, str]]:
    """Positional parameter names (``self`` dropped) and the string defaults of all parameters."""
    args = node.args
    positional = [a.arg for a in [*args.posonlyargs, *args.args]]
    defaults: dict[str, str] = {}
    for arg, default in zip(reversed(positional), reversed(args.defaults), strict=False):
        if isinstance(default, ast.Constant) and isinstance(default.value, str):
            defaults[arg] = default.value
    for keyword, keyword_default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if isinstance(keyword_default, ast.Constant) and isinstance(keyword_default.value, str):
            defaults[keyword.arg] = keyword_default.value
    return [p for p in positional if p not in ("self", "cls")], defaults


class Package:
    """Every module of a package, so that a call can reach a helper imported from a sibling module."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self.modules = {name: _Module(self, name, text) for name, text in sources.items()}
        for _ in range(4):  # helpers that use helpers (of other modules, defined later) settle in a few passes
            for module in self.modules.values():
                module.analyse(record=False)
        for module in self.modules.values():
            module.analyse(record=True)

    @classmethod
    def from_paths(cls, root: Path, paths: Iterable[Path]) -> Package:
        sources = {}
        for path in paths:
            parts = path.relative_to(root).with_suffix("").parts
            sources[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path.read_text(encoding="utf-8")
        return cls(sources)

    @property
    def calls(self) -> list[Call]:
        return [call for module in self.modules.values() for call in module.calls]

    @property
    def unresolved(self) -> list[str]:
        return [entry for module in self.modules.values() for entry in module.unresolved]


class _Module:
    def __init__(self, package: Package, name: str, source: str) -> None:
        self.package = package
        self.name = name
        self.tree = ast.parse(source)
        self.methods: dict[str, _Helper] = {}  # called as self.NAME(...)
        self.functions: dict[str, _Helper] = {}  # module-level, called as NAME(...)
        self.imports: dict[str, tuple[str, str]] = {}  # local name -> (module, name)
        self.calls: list[Call] = []
        self.unresolved: list[str] = []
        for node in self.tree.body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = name.split(".")[: -node.level] if node.level else []
                module = ".".join([*base, *(node.module.split(".") if node.module else [])])
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (module, alias.name)

    def analyse(self, *, record: bool) -> None:
        self.calls, self.unresolved = [], []
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef):
                self._function(node, record=record, table=self.functions)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef):
                        self._function(item, record=record, table=self.methods)

    # values ----------------------------------------------------------------------------------------------

    def _ref(self, node: ast.expr, params: set[str]) -> Ref | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return Ref(const=node.value)
        if isinstance(node, ast.Name) and node.id in params:
            return Ref(param=node.id)
        return None

    def _helper(self, func: ast.expr) -> _Helper | None:
        """The helper a call's ``func`` names: ``self.NAME`` (a method here) or ``NAME`` (here or imported)."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            return self.methods.get(func.attr)
        if isinstance(func, ast.Name):
            if func.id in self.functions:
                return self.functions[func.id]
            if func.id in self.imports:
                module, name = self.imports[func.id]
                other = self.package.modules.get(module)
                return other.functions.get(name) if other is not None else None
        return None

    def _client(self, node: ast.expr, env: Mapping[str, Ref], params: set[str]) -> Ref | None:
        """The client ``node`` evaluates to, if it is one: its service, or the parameter it came in."""
        if isinstance(node, ast.Name):
            return env.get(node.id)
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute | ast.Name):
            return None
        if isinstance(node.func, ast.Attribute) and node.func.attr == "client" and node.args:
            return self._ref(node.args[0], params)
        helper = self._helper(node.func)
        if helper is not None and helper.returns is not None:
            return self._bind(helper, helper.returns, node, env, params)
        return None

    def _bind(self, helper: _Helper, ref: Ref, call: ast.Call, env: Mapping[str, Ref],
              params: set[str]) -> Ref | None:
        """``ref`` (in ``helper``'s terms) as seen at the call site ``call``."""
        if ref.const is not None:
            return ref
        name = ref.param or ref.client_param
        positional, defaults = _params(helper.node)
        given: ast.expr | None = None
        for index, arg in enumerate(call.args):
            if index < len(positional) and positional[index] == name:
                given = arg
        positional_only = {a.arg for a in helper.node.args.posonlyargs}
        for keyword in call.keywords:
            if keyword.arg == name and name not in positional_only:  # call(aws, "ecs", …, service="web"): a param
                given = keyword.value
        if given is None:
            return Ref(const=defaults[name]) if ref.param is not None and name in defaults else None
        return self._ref(given, params) if ref.param is not None else self._client(given, env, params)

    # functions -------------------------------------------------------------------------------------------

    def _function(self, node: ast.FunctionDef, *, record: bool, table: dict[str, _Helper] | None = None,
                  outer: Mapping[str, Ref] | None = None) -> None:
        positional, defaults = _params(node)
        params = {*positional, *defaults, *(a.arg for a in node.args.kwonlyargs)}
        env: dict[str, Ref] = {**(outer or {}), **{p: Ref(client_param=p) for p in params}}
        helper = _Helper(node)
        for statement in self._own_nodes(node):
            if isinstance(statement, ast.FunctionDef):
                self._function(statement, record=record, outer=env)
                continue
            if isinstance(statement, ast.Assign):
                ref = self._client(statement.value, env, params)
                for target in statement.targets:
                    if isinstance(target, ast.Name) and ref is not None:
                        env[target.id] = ref
                    if isinstance(target, ast.Subscript) and ref is not None and helper.returns is None:
                        helper.returns = ref  # self._clients[key] = session.client("ecr", ...) in a getter
            if isinstance(statement, ast.Return) and statement.value is not None:
                ref = self._client(statement.value, env, params)
                if ref is not None and ref.client_param is None and (helper.returns is None or ref.const):
                    helper.returns = ref
            if isinstance(statement, ast.Call):
                self._call(statement, env, params, helper, record)
        if table is not None and (helper.returns is not None or helper.calls):
            table[node.name] = helper

    def _own_nodes(self, node: ast.FunctionDef) -> Iterator[ast.AST]:
        """Every node of ``node``'s body in source order, nested function bodies left to their own pass."""
        stack: list[ast.AST] = list(reversed(node.body))
        while stack:
            current = stack.pop()
            yield current
            if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            stack.extend(reversed(list(ast.iter_child_nodes(current))))

    def _call(self, call: ast.Call, env: Mapping[str, Ref], params: set[str], helper: _Helper,
              record: bool) -> None:
        func = call.func
        found: list[tuple[Ref, Ref]] = []
        if isinstance(func, ast.Call) and isinstance(func.func, ast.Name) and func.func.id == "getattr":
            service = self._client(func.args[0], env, params)  # getattr(<client>, operation)(...)
            if service is not None:
                found.append((service, self._ref(func.args[1], params) or Ref()))
        elif isinstance(func, ast.Attribute):
            service = self._client(func.value, env, params)
            if service is not None and func.attr in ("get_paginator", "get_waiter") and call.args:
                operation = self._ref(call.args[0], params) or Ref()
                if func.attr == "get_waiter" and operation.const is not None and service.const is not None:
                    operation = Ref(const=waiter_operation(service.const, operation.const))
                found.append((service, operation))
            elif service is not None and func.attr not in CLIENT_METHODS:
                found.append((service, Ref(const=func.attr)))
        target = self._helper(func)
        if target is not None:
            for service_ref, operation_ref in target.calls:
                service = self._bind(target, service_ref, call, env, params)
                if service is None and service_ref.client_param is not None:
                    continue  # that parameter was not given a client here (a logger, a payload …)
                found.append((service or Ref(), self._bind(target, operation_ref, call, env, params) or Ref()))
        for service, operation in found:
            if service.param is not None or service.client_param is not None or operation.param is not None:
                if (service, operation) not in helper.calls:
                    helper.calls.append((service, operation))  # resolved where this function is called
            elif record and service.const is not None and operation.const is not None:
                self.calls.append(Call(service.const, operation.const, f"{self.name}:{call.lineno}"))
            elif record:
                self.unresolved.append(f"{self.name}:{call.lineno}: {ast.unparse(call)[:80]}")


@cache
def _botocore() -> botocore.session.Session:
    return botocore.session.get_session()


def waiter_operation(service: str, waiter: str) -> str:
    """``("ecs", "services_stable")`` -> ``describe_services``: the operation a botocore waiter polls."""
    model = _botocore().get_waiter_model(service)
    names = {xform_name(name): name for name in model.waiter_names}
    return xform_name(model.get_waiter(names[waiter]).operation)


def iam_action(service: str, method: str) -> str:
    """``("elbv2", "describe_target_health")`` -> ``elasticloadbalancing:DescribeTargetHealth``."""
    model = _botocore().get_service_model(service)
    operations = {xform_name(name): name for name in model.operation_names}
    if method not in operations:
        raise KeyError(f"{method} is not an operation of the {service} client")
    return f"{IAM_PREFIX[service]}:{operations[method]}"


def collect(paths: Iterable[Path]) -> tuple[list[Call], list[str]]:
    package = Package.from_paths(ROOT, paths)
    return package.calls, package.unresolved


def package_sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "emulator" not in p.relative_to(PACKAGE).parts)


@cache
def code_actions() -> dict[str, list[str]]:
    """IAM action -> where the code calls it."""
    calls, unresolved = collect(package_sources())
    assert not unresolved, f"AWS calls whose service or operation the collector cannot tell: {unresolved}"
    actions: dict[str, list[str]] = {}
    for call in calls:
        actions.setdefault(iam_action(call.service, call.method), []).append(call.where)
    return actions


# -- the policy --------------------------------------------------------------------------------------------


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def policy_actions(policy: Mapping[str, Any]) -> list[str]:
    return [a for s in policy["Statement"] if s["Effect"] == "Allow" for a in _listed(s["Action"])]


def allowed(policy: Mapping[str, Any], action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in policy_actions(policy))


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    return dict(json.loads(POLICY.read_text(encoding="utf-8")))


def test_the_collector_finds_every_shape_of_call() -> None:
    source = '''
from .revision import latest_active


class Thing:
    def _client(self):
        return self.ctx.aws.client("ecr")

    def _regional(self, service, region):
        return self.ctx.aws.session.client(service, region_name=region)

    def _call(self, operation, *, client="ecs", **params):
        return getattr(self.ctx.aws.client(client), operation)(**params)

    def run(self):
        ecs = self.ctx.aws.client("ecs")
        ecs.update_service(service="web")
        self._client().put_image()
        self._regional("ssm", "eu-west-1").describe_parameters()
        self._call("list_tasks")
        self._call("describe_target_health", client="elbv2")
        self._client().get_paginator("describe_images").paginate()
        ecs.get_waiter("services_stable").wait()
        latest_active(self.ctx.aws.client("ecs"), "web", self.ctx.log)

        def nested():
            ecs.stop_task(task="t")
'''
    revision = '''
def describe(ecs, arn):
    return ecs.describe_task_definition(taskDefinition=arn)

def latest_active(ecs, family, log):
    log.warning("listing")
    arns = ecs.list_task_definitions(familyPrefix=family)
    return describe(ecs, arns[0])
'''
    package = Package({"pkg.revision": revision, "pkg.sample": source})

    assert sorted((c.service, c.method) for c in package.calls) == [
        ("ecr", "describe_images"), ("ecr", "put_image"), ("ecs", "describe_services"),
        ("ecs", "describe_task_definition"), ("ecs", "list_task_definitions"), ("ecs", "list_tasks"),
        ("ecs", "stop_task"), ("ecs", "update_service"), ("elbv2", "describe_target_health"),
        ("ssm", "describe_parameters"),
    ]
    assert package.unresolved == []


def test_the_code_makes_the_calls_a_deployment_needs() -> None:
    """A floor, so that a collector that silently finds nothing cannot pass the tests below."""
    assert {"ecs:UpdateService", "ecs:RegisterTaskDefinition", "ecs:RunTask", "ecs:DescribeTasks",
            "ecr:DescribeImages", "sts:GetCallerIdentity"} <= set(code_actions())


def test_every_aws_call_of_the_code_is_allowed(policy: dict[str, Any]) -> None:
    missing = {action: where for action, where in code_actions().items()
               if action not in NOT_IN_POLICY and not allowed(policy, action)}

    assert not missing, f"add these actions to docs/iam-policy.json (and docs/iam-policy.md): {missing}"


def test_the_policy_allows_nothing_the_code_does_not_use(policy: dict[str, Any]) -> None:
    used = set(code_actions())
    extra = []
    for action in policy_actions(policy):
        assert "*" not in action and "?" not in action, f"{action}: name each action, no wildcards"
        needed_by = IMPLIED.get(action)
        if action not in used and not (needed_by and used.intersection(needed_by)):
            extra.append(action)

    assert not extra, f"the code makes no call that needs {extra}; remove them from the policy"
    assert not used.intersection(
        a for s in policy["Statement"] for a in _listed(s["Action"]) if a in NOT_IN_POLICY
    ), "sts:GetCallerIdentity and sts:AssumeRole do not belong in the deployment role's policy"


def test_the_policy_is_least_privilege_in_shape(policy: dict[str, Any]) -> None:
    assert policy["Version"] == "2012-10-17"
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement and "NotResource" not in statement
        assert re.fullmatch(r"[A-Za-z0-9]+", statement["Sid"])
    writes = {"ecs:UpdateService", "ecs:RunTask", "ecs:StopTask", "ecr:PutImage", "iam:PassRole", "dynamodb:PutItem",
              "dynamodb:CreateTable", "codedeploy:CreateDeployment", "codedeploy:StopDeployment",
              "codedeploy:RegisterApplicationRevision", "codedeploy:UpdateDeploymentGroup"}
    for statement in policy["Statement"]:
        if writes.intersection(_listed(statement["Action"])):
            assert statement["Resource"] != "*", f"{statement['Sid']}: scope writes to resources"
    pass_role = next(s for s in policy["Statement"] if "iam:PassRole" in _listed(s["Action"]))
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_the_doc_shows_the_policy_file_and_the_calls_left_out() -> None:
    text = POLICY_DOC.read_text(encoding="utf-8")
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block is not None, "docs/iam-policy.md shows the policy in a ```json block"
    assert json.loads(block.group(1)) == json.loads(POLICY.read_text(encoding="utf-8"))
    for action in NOT_IN_POLICY:
        assert action in text
