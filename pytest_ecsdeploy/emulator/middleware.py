"""Routing (moto's ``urls`` role): which part of the embedded local AWS answers each request.

In order:

1. with the Docker runner, the registry's push notifications (``POST /_ecsdeploy/registry/events``) and every ECR
   request (``X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Action>``) go to the ECR bridge, which keeps the
   local registry in step with moto's ECR (``ecr_bridge``);
2. control routes under ``/_ecsdeploy/`` serve a client in another process: ``POST /_ecsdeploy/image-behaviour``
   (JSON ``{"image": ..., "behaviour": ..., <params>}``), ``POST /_ecsdeploy/codedeploy-hook`` (JSON
   ``{"function": ..., "result": "Succeeded" | "Failed"}``: what CodeDeploy hooks naming that Lambda function
   report), ``GET /_ecsdeploy/state`` (``LocalAWS.snapshot()``)
   and ``POST /_ecsdeploy/reset`` (empty state, then the seed applied again; body ``{"seed": false}`` to leave it
   empty); their answers are JSON, errors ``{"error": "<one sentence>"}``. moto's own ``POST /moto-api/reset``
   (what ``mock_aws`` sends in server mode) empties the whole state the same way, engine and Docker included, and
   answers as moto does (``{"status": "ok"}``), without the seed;
3. ECS JSON requests (``X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Action>``) whose action is in the
   rollout engine's table (``ecs.responses.ACTIONS``: services, their tasks and service deployments) go to the
   engine, with the caller's account (derived from the access key the way moto does it, so STS AssumeRole
   credentials into another account work) and region (from the SigV4 credential scope);
   CodeDeploy JSON requests (``X-Amz-Target: CodeDeploy_20141006.<Action>``) whose action is in the local
   CodeDeploy's table (``codedeploy.responses.ACTIONS``: deployments, their targets, Continue/StopDeployment) go to
   the engine too, whose clock and task sets they play on; applications and deployment groups stay moto's, but a
   CreateDeploymentGroup CodeDeploy refuses (``codedeploy.responses.BEFORE_MOTO``) is
   refused here first;
4. ECS requests moto answers whose action has a check in ``ecs.refusals.BEFORE_MOTO`` (RegisterTaskDefinition)
   are refused there as ECS refuses them, else go on to moto (whose ECS backend asks the engine about services and
   tasks: tags, cluster counts, DeleteCluster; see ``moto_state.use_ecs_engine``);
5. everything else goes to moto (ECR, ECS clusters and task definitions, ELBv2, STS, IAM, Secrets Manager, SSM,
   CloudWatch Logs, ...); an action moto lacks is answered as AWS answers an unknown operation (400, which no SDK
   retries), not with moto's 500. A DynamoDB write (PutItem, UpdateItem, DeleteItem, BatchWriteItem,
   TransactWriteItems) is answered while holding one lock: moto checks a ConditionExpression and then writes, and
   this server answers requests on threads, so without it two conditional writes could both pass their check; on
   DynamoDB each is one atomic compare-and-set (the deployment lease relies on that).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from . import moto_state
from .codedeploy.responses import ACTIONS as CODEDEPLOY_ACTIONS
from .codedeploy.responses import BEFORE_MOTO as CODEDEPLOY_BEFORE_MOTO
from .codedeploy.responses import TARGET_PREFIX as CODEDEPLOY_PREFIX
from .ecr_bridge import ECR_TARGET_PREFIX, EVENTS_PATH
from .ecs.exceptions import EngineError
from .ecs.refusals import BEFORE_MOTO
from .ecs.responses import ACTIONS
from .wsgi import Environ, StartResponse, WsgiApp, aws_error, json_response, not_implemented, read_body

if TYPE_CHECKING:
    from .docker_backend import DockerBackend
    from .ecs.responses import RolloutEngine

__all__ = ["CONTROL_PREFIX", "DEFAULT_REGION", "ECS_TARGET_PREFIX", "Control", "Middleware", "account_id_of",
           "region_of"]

log = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"  # moto's, and the region of a request that is not signed
ECS_TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
CONTROL_PREFIX = "/_ecsdeploy/"
DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
_CONTROL_ROUTES = {("POST", "image-behaviour"), ("GET", "state"), ("POST", "reset"), ("POST", "codedeploy-hook")}
_MOTO_RESET_PATH = "/moto-api/reset"

# The same pattern moto's BaseResponse uses to find the access key in a SigV4/SigV2 Authorization header.
_ACCESS_KEY = re.compile(r"AWS.*(?P<access_key>(?<![A-Z0-9])[A-Z0-9]{20}(?![A-Z0-9]))[:/]")
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/,\s]+)/")


class Control(Protocol):
    """What the control routes act on: the LocalAWS being served."""

    @property
    def seeded(self) -> bool: ...

    def snapshot(self) -> dict[str, Any]: ...

    def reset(self, *, seed: bool = True) -> None: ...

    def set_image_behaviour(self, image: str, behaviour: str, **params: Any) -> None: ...

    def set_codedeploy_hook(self, function: str, result: str) -> None: ...


class Middleware:
    """The WSGI app of a LocalAWS: routes each request as the module docstring says.

    ``moto_app`` is moto's WSGI app, ``engine`` returns the rollout engine (creating it on first use),
    ``current_engine`` the one running (None before the first use), ``docker`` the Docker side when tasks run on
    Docker (None otherwise, or before it starts), ``control`` the LocalAWS the control routes act on.
    """

    def __init__(self, moto_app: WsgiApp, *, engine: Callable[[], RolloutEngine],
                 current_engine: Callable[[], RolloutEngine | None], docker: Callable[[], DockerBackend | None],
                 control: Control) -> None:
        self.moto_app = moto_app
        self.engine = engine
        self.current_engine = current_engine
        self.docker = docker
        self.control = control
        self._dynamodb_writes = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        docker = self.docker()
        if docker is not None:
            answer = self._docker(docker, environ, start_response, path)
            if answer is not None:
                return answer
        if isinstance(path, str) and path.startswith(CONTROL_PREFIX):
            return self._control(environ, start_response, path[len(CONTROL_PREFIX):].strip("/"))
        if path == _MOTO_RESET_PATH and environ.get("REQUEST_METHOD") == "POST":
            return self._moto_reset(start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(ECS_TARGET_PREFIX) and target[len(ECS_TARGET_PREFIX):] in ACTIONS:
            return self._ecs(environ, start_response, target[len(ECS_TARGET_PREFIX):])
        if target.startswith(CODEDEPLOY_PREFIX) and target[len(CODEDEPLOY_PREFIX):] in CODEDEPLOY_ACTIONS:
            return self._ecs(environ, start_response, target[len(CODEDEPLOY_PREFIX):], codedeploy=True)
        if target.startswith(CODEDEPLOY_PREFIX) and target[len(CODEDEPLOY_PREFIX):] in CODEDEPLOY_BEFORE_MOTO:
            refused = self._refused(environ, start_response, target[len(CODEDEPLOY_PREFIX):],
                                    CODEDEPLOY_BEFORE_MOTO)
            if refused is not None:
                return refused
        if target.startswith(ECS_TARGET_PREFIX) and target[len(ECS_TARGET_PREFIX):] in BEFORE_MOTO:
            refused = self._refused(environ, start_response, target[len(ECS_TARGET_PREFIX):])
            if refused is not None:
                return refused
        if target.startswith(DYNAMODB_TARGET_PREFIX) and target[len(DYNAMODB_TARGET_PREFIX):] in DYNAMODB_WRITES:
            with self._dynamodb_writes:  # the check and the write of a conditional write, as one step
                return list(self.moto_app(environ, start_response))
        try:
            return self.moto_app(environ, start_response)
        except NotImplementedError as exc:  # moto's answer to an action it lacks would be a 500 (and retries)
            return not_implemented(environ, start_response, str(exc))

    def _docker(self, docker: DockerBackend, environ: Environ, start_response: StartResponse,
                path: str) -> Iterable[bytes] | None:
        if path == EVENTS_PATH and environ.get("REQUEST_METHOD") == "POST":
            return json_response(start_response, 200, {"imported": docker.handle_events(read_body(environ))})
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith(ECR_TARGET_PREFIX):
            try:
                return docker.handle_ecr(environ, start_response, self.moto_app, target[len(ECR_TARGET_PREFIX):])
            except NotImplementedError as exc:
                return not_implemented(environ, start_response, str(exc))
        return None

    def _ecs(self, environ: Environ, start_response: StartResponse, action: str, *,
             codedeploy: bool = False) -> Iterable[bytes]:
        try:
            params = json.loads(read_body(environ) or b"{}")
            if not isinstance(params, dict):
                raise ValueError("the request body is not a JSON object")
        except ValueError as exc:
            return aws_error(start_response, 400, "SerializationException", f"could not read the request: {exc}")
        account = account_id_of(environ)
        region = region_of(environ)
        try:
            engine = self.engine()
            result = (engine.handle_codedeploy if codedeploy else engine.handle)(action, account, region, params)
        except EngineError as exc:
            return aws_error(start_response, int(exc.status), str(exc.code), str(exc.message))
        except Exception as exc:  # an engine bug: answer like AWS does, keep the traceback in the log
            log.exception("the rollout engine failed on %s", action)
            return aws_error(start_response, 500, "ServerException", f"{type(exc).__name__}: {exc}")
        return json_response(start_response, 200, result, content_type="application/x-amz-json-1.1")

    def _refused(self, environ: Environ, start_response: StartResponse, action: str,
                 checks: Mapping[str, Callable[[Any, str, str, dict[str, Any]], None]] = BEFORE_MOTO,
                 ) -> Iterable[bytes] | None:
        """ECS's error for a request moto would accept, or None (the body is put back for moto to read)."""
        body = read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return None  # moto answers a body it cannot read
        if not isinstance(params, dict):
            return None
        try:
            checks[action](self.current_engine(), account_id_of(environ), region_of(environ), params)
        except EngineError as exc:
            return aws_error(start_response, int(exc.status), str(exc.code), str(exc.message))
        return None

    def _control(self, environ: Environ, start_response: StartResponse, route: str) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if (method, route) not in _CONTROL_ROUTES:
            known = ", ".join(f"{m} {CONTROL_PREFIX}{r}" for m, r in sorted(_CONTROL_ROUTES, key=lambda x: x[1]))
            status = 405 if route in {r for _, r in _CONTROL_ROUTES} else 404
            return json_response(start_response, status, {"error": f"no route {method} {CONTROL_PREFIX}{route}; "
                                                                   f"the control routes are: {known}."})
        try:
            body = read_body(environ)
            data = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            return json_response(start_response, 400, {"error": f"the request body is not JSON: {exc}."})
        if not isinstance(data, dict):
            return json_response(start_response, 400, {"error": "the request body must be a JSON object."})
        try:
            if route == "state":
                return json_response(start_response, 200, self.control.snapshot())
            if route == "reset":
                seed = data.get("seed", True)
                if not isinstance(seed, bool):
                    return json_response(start_response, 400,
                                         {"error": f"seed: expected true or false, got {seed!r}."})
                self.control.reset(seed=seed)
                return json_response(start_response, 200, {"reset": True, "seeded": seed and self.control.seeded})
            if route == "codedeploy-hook":
                return self._codedeploy_hook(start_response, data)
            return self._image_behaviour(start_response, data)
        except Exception as exc:
            log.exception("control route %s %s failed", method, route)
            return json_response(start_response, 500, {"error": f"{type(exc).__name__}: {exc}"})

    def _moto_reset(self, start_response: StartResponse) -> Iterable[bytes]:
        """moto's reset, of the whole state: moto's backends alone would leave the engine's services and tasks (and
        their containers) behind, and the next CreateService of the same name would be refused."""
        # Without the seed: moto's reset means empty, and a client of moto's API (mock_aws in server mode resets
        # before each test) expects nothing left; POST /_ecsdeploy/reset is the reset that seeds again.
        try:
            self.control.reset(seed=False)
        except Exception as exc:
            log.exception("POST %s failed", _MOTO_RESET_PATH)
            return json_response(start_response, 500, {"error": f"{type(exc).__name__}: {exc}"})
        return json_response(start_response, 200, {"status": "ok"})

    def _codedeploy_hook(self, start_response: StartResponse, data: dict[str, Any]) -> Iterable[bytes]:
        function, result = data.get("function"), data.get("result")
        if not isinstance(function, str) or not function:
            return json_response(start_response, 400, {"error": f"function: expected a non-empty string, got "
                                                                f"{function!r}."})
        try:
            self.control.set_codedeploy_hook(function, str(result))
        except ValueError as exc:
            return json_response(start_response, 400, {"error": str(exc)})
        return json_response(start_response, 200, {"function": function, "result": result})

    def _image_behaviour(self, start_response: StartResponse, data: dict[str, Any]) -> Iterable[bytes]:
        params = dict(data)
        image = params.pop("image", None)
        behaviour = params.pop("behaviour", None)
        for name, value in (("image", image), ("behaviour", behaviour)):
            if not isinstance(value, str) or not value:
                return json_response(start_response, 400,
                                     {"error": f"{name}: expected a non-empty string, got {value!r}."})
        try:
            self.control.set_image_behaviour(str(image), str(behaviour), **params)
        except (EngineError, ValueError, TypeError) as exc:
            message = exc.message if isinstance(exc, EngineError) else str(exc)
            return json_response(start_response, 400, {"error": message})
        return json_response(start_response, 200, {"image": image, "behaviour": behaviour, **params})


def account_id_of(environ: Mapping[str, Any]) -> str:
    """The caller's account, in moto's order: MOTO_ACCOUNT_ID, the x-moto-account-id header, the access key."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    header = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if header:
        return str(header)
    match = _ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    return moto_state.account_of_access_key(match.group("access_key") if match else "AKIAEXAMPLE")


def region_of(environ: Mapping[str, Any]) -> str:
    """The region of the SigV4 credential scope, or us-east-1 for an unsigned request."""
    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group("region") if match else DEFAULT_REGION
