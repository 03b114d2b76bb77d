"""boto3 sessions and clients for an environment, whatever its backend, and the account guard.

Deployment code asks a :class:`ClientFactory` for a client and never knows which backend answers. A backend
is found by name in :data:`BACKENDS`:

- ``aws``: the default credential chain (or ``profile``), optionally assuming ``role_arn``;
- ``emulator``: the embedded local AWS (started in-process by :meth:`Run.aws`) or a running ``ecsdeploy-emulator``
  at ``endpoint_url``, with fixed fake credentials;
- ``localstack``: LocalStack, its endpoint from ``endpoint_url`` or localstack-client's settings
  (``LOCALSTACK_HOST``, ``EDGE_PORT``).

Every client retries in botocore's standard mode (up to 10 retries, jittered exponential back-off), so throttling
slows a deployment down instead of ending it. Not the adaptive mode: its client-side rate limiter is per client,
so one throttled RegisterTaskDefinition (a 1-per-second bucket) would slow every other call of the client that
many deployments in one process share (bench/many_services.py: 50 services took twice as long). A throttled
RegisterTaskDefinition (a bucket that refills one token a second) is retried in slots one refill apart instead,
shared by every client of the process that reaches the same account (``pacing.py``).
Credentials are never formatted into any message.

Every AWS call of the actions goes through :func:`call` (or :func:`pages`), which turns a botocore error into
an ActionError carrying the AWS error code, in one sentence that names the operation and what was being done::

    ecs_task.run(): could not describe the tasks of api:41 (DescribeTasks: ThrottlingException: Rate exceeded).

One rule (:func:`is_transient`) tells the errors that may pass when the same call is made again: throttling,
time-outs, HTTP 429 and 5xx answers, and connections that could not be made, were reset or closed, or timed out.
Those are raised as :class:`TransientError`. A one-shot call raises it once botocore's own retries are spent; an
action that keeps waiting (a rollout watch, a one-off task's wait) looks through a :class:`Patience`, which
skips a look that failed that way and lets the loop look again after its usual pause.
"""

from __future__ import annotations

import getpass
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .errors import AccountMismatch, ActionError, ConfigError, TransientError
from .pacing import PACERS, Pacers, pace
from .redact import mask

if TYPE_CHECKING:
    import boto3
    from botocore.client import BaseClient

    from .config import Environment

USER_AGENT = "pytest-ecsdeploy"
MAX_ATTEMPTS = 10

_T = TypeVar("_T")


class Backend(Protocol):
    """How to reach the AWS API for an environment."""

    name: str

    def session(self, environment: Environment) -> boto3.Session: ...

    def endpoint_url(self, environment: Environment, local_endpoint: str | None) -> str | None: ...


class AwsBackend:
    name = "aws"

    def session(self, environment: Environment) -> boto3.Session:
        import boto3
        import botocore.exceptions

        try:
            return boto3.Session(profile_name=environment.profile, region_name=environment.region)
        except botocore.exceptions.ProfileNotFound:
            raise ConfigError(
                f"environment '{environment.name}': the AWS profile '{environment.profile}' is not in "
                f"the AWS config files."
            ) from None

    def endpoint_url(self, environment: Environment, local_endpoint: str | None) -> str | None:
        return environment.endpoint_url


class EmulatorBackend:
    name = "emulator"
    access_key = "testing"

    def session(self, environment: Environment) -> boto3.Session:
        # botocore's models as the embedded local AWS loaded them, not read again: one loader in the process
        from .emulator.moto_state import boto3_session

        session: boto3.Session = boto3_session(
            aws_access_key_id=self.access_key, aws_secret_access_key="testing", region_name=environment.region
        )
        return session

    def endpoint_url(self, environment: Environment, local_endpoint: str | None) -> str | None:
        url = environment.endpoint_url or local_endpoint
        if url is None:
            raise ConfigError(
                f"environment '{environment.name}': the embedded local AWS is not running and no endpoint_url "
                f"is set."
            )
        return url


class LocalStackBackend:
    name = "localstack"

    def session(self, environment: Environment) -> boto3.Session:
        import boto3

        return boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name=environment.region)

    def endpoint_url(self, environment: Environment, local_endpoint: str | None) -> str | None:
        if environment.endpoint_url:
            return environment.endpoint_url
        from localstack_client.config import get_service_endpoint

        return str(get_service_endpoint("ecs"))


BACKENDS: dict[str, Backend] = {b.name: b for b in (AwsBackend(), EmulatorBackend(), LocalStackBackend())}


def get_backend(name: str) -> Backend:
    """The backend called ``name``; an unknown name is a ConfigError listing the valid ones."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ConfigError(f"unknown backend '{name}'; choose one of: {', '.join(BACKENDS)}.") from None


def mask_account(account_id: str) -> str:
    """``123456789012`` -> ``1234****9012``: enough to tell accounts apart in a log, not to copy one."""
    if len(account_id) < 8:
        return "*" * len(account_id)
    return f"{account_id[:4]}{'*' * (len(account_id) - 8)}{account_id[-4:]}"


def session_name(environment: Environment) -> str:
    """A readable RoleSessionName (CloudTrail shows it): ``pytest-ecsdeploy-prod-alice``."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name on some CI workers
        user = "ci"
    name = re.sub(r"[^\w+=,.@-]", "-", f"pytest-ecsdeploy-{environment.name}-{user}")
    return name[:64]


#: The error codes of an IAM denial: the JSON-protocol services (ECS, CodeDeploy, Secrets Manager, Logs) answer
#: AccessDeniedException, the query-protocol ones (STS, IAM) AccessDenied.
ACCESS_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def error_message(exc: BaseException) -> str:
    """``Code: message`` of a botocore ClientError, or the exception's own text."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', 'Error')}: {err.get('Message', '').rstrip('.')}"
    return str(exc)


class ClientFactory:
    """boto3 clients for one environment, built once and shared; the ``aws`` fixture.

    >>> aws.client("ecs").describe_clusters(clusters=[deploy_env.cluster])
    >>> aws.ensure_account()   # the account guard: call before the first write
    '123456789012'

    ``pacers``: where throttled RegisterTaskDefinition calls take their slots (``pacing.py``; the process's).
    """

    def __init__(
        self,
        environment: Environment,
        *,
        local_endpoint: str | None = None,
        session: boto3.Session | None = None,
        pacers: Pacers = PACERS,
    ) -> None:
        self.environment = environment
        self.backend = get_backend(environment.backend)
        self.endpoint_url = self.backend.endpoint_url(environment, local_endpoint)
        self._base_session = session
        self._session: boto3.Session | None = None
        self._clients: dict[tuple[str, str], BaseClient] = {}
        self._identity: dict[str, Any] | None = None
        self._lock = threading.RLock()
        self._pacers = pacers

    @property
    def session(self) -> boto3.Session:
        with self._lock:
            if self._session is None:
                base = self._base_session or self.backend.session(self.environment)
                self._session = self._assume(base) if self.environment.role_arn else base
            return self._session

    def client(self, service_name: str, region: str | None = None) -> Any:
        """A boto3 client for ``service_name`` (``ecs``, ``ecr``, ``elbv2`` …) in ``region`` (default: the
        environment's), cached per factory."""
        key = (service_name, region or self.environment.region)
        with self._lock:
            if key not in self._clients:
                client = self.session.client(
                    service_name, region_name=key[1], endpoint_url=self.endpoint_url, config=client_config()
                )
                pace(client, service_name, self._account_key(key[1]), pacers=self._pacers)
                self._clients[key] = client
            return self._clients[key]

    def _account_key(self, region: str) -> tuple[str | None, ...]:
        """What names one account's API buckets in ``region`` without asking STS: the same endpoint, profile and
        role reach the same account; a session given to the factory, by its access key (two sessions of one key
        are one account's), else by itself."""
        env = self.environment
        given = None
        if self._base_session is not None:
            credentials = self._base_session.get_credentials()
            given = credentials.access_key if credentials is not None else f"session {id(self._base_session)}"
        return (self.backend.name, self.endpoint_url, env.profile, env.role_arn, region, given)

    def caller_identity(self) -> dict[str, Any]:
        """STS GetCallerIdentity, asked once."""
        with self._lock:
            if self._identity is None:
                self._identity = dict(call(self, "sts", "get_caller_identity", "read the caller's identity from STS",
                                           who=f"environment '{self.environment.name}'",
                                           hint="check the credentials for this environment"))
            return self._identity

    @property
    def account_id(self) -> str:
        return str(self.caller_identity()["Account"])

    def ensure_account(self) -> str:
        """The account guard: the caller's account must be the environment's ``account_id``.

        Call it before the first write; it asks STS once. A mismatch raises AccountMismatch naming both
        accounts with their middle digits masked, before anything changes.
        """
        actual = self.account_id
        expected = self.environment.account_id
        if expected is not None and actual != expected:
            raise AccountMismatch(
                f"environment '{self.environment.name}' deploys to account {mask_account(expected)}, but the "
                f"credentials belong to account {mask_account(actual)}; nothing was changed.",
                expected=expected,
                actual=actual,
            )
        return actual

    def _assume(self, base: boto3.Session) -> boto3.Session:
        import boto3
        from botocore.credentials import RefreshableCredentials
        from botocore.session import get_session

        env = self.environment
        sts = base.client("sts", endpoint_url=self.endpoint_url, config=client_config())

        def fetch() -> dict[str, str]:
            try:
                creds = sts.assume_role(RoleArn=env.role_arn, RoleSessionName=session_name(env))["Credentials"]
            except _failures() as exc:  # the session's own client, before any ClientFactory client exists
                raise _error(exc, "assume_role", f"environment '{env.name}'", f"assume role {env.role_arn}") from None
            return {
                "access_key": creds["AccessKeyId"],
                "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"],
                "expiry_time": creds["Expiration"].isoformat(),
            }

        botocore_session = get_session()
        botocore_session._credentials = RefreshableCredentials.create_from_metadata(  # noqa: SLF001
            metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
        )
        botocore_session.set_config_variable("region", env.region)
        return boto3.Session(botocore_session=botocore_session)


def client_config() -> Any:
    """botocore settings every client shares: standard retries, bounded timeouts, our user agent."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra=USER_AGENT,
    )


# -- the one way the actions call AWS ---------------------------------------------------------------------------

#: AWS error codes that mean "the same call may pass in a moment". Throttling is botocore's own list, less
#: LimitExceededException (a quota, which waiting does not lift); then time-outs; then server errors, which some
#: endpoints (and the local AWS emulators) answer without a 5xx status.
TRANSIENT_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout", "RequestTimeoutException",
    "InternalFailure", "InternalError", "InternalServerError", "ServerException", "ServiceUnavailable",
    "ServiceUnavailableException",
})


def is_transient(exc: BaseException) -> bool:
    """Whether the call that raised ``exc`` may pass when it is made again.

    True for an AWS answer with a code in :data:`TRANSIENT_CODES` or an HTTP status of 429 or 5xx, and for a
    connection that could not be made (EndpointConnectionError, ConnectTimeoutError, a proxy's), was reset or
    closed (ConnectionClosedError, ConnectionResetError), timed out (ReadTimeoutError, TimeoutError) or ended a
    body early (IncompleteReadError, ResponseStreamingError). False for everything else, a TLS error included
    (waiting does not make a certificate verify).
    """
    from botocore import exceptions as boto

    if isinstance(exc, boto.ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        return error_code(exc) in TRANSIENT_CODES or status == 429 or status >= 500
    if isinstance(exc, boto.SSLError):
        return False
    return isinstance(exc, (boto.ConnectionError, boto.HTTPClientError, boto.IncompleteReadError,
                            ConnectionError, TimeoutError))


def call(aws: ClientFactory, service: str, operation: str, doing: str, /, *, who: str,
         region: str | None = None, hint: str | None = None, **params: Any) -> dict[str, Any]:
    """``aws.client(service, region).<operation>(**params)``: the answer, or the failure as an ActionError.

    ``who`` names the action (``ecs_task.run()``) and ``doing`` what the call was for (``describe the tasks of
    api:41``); the error reads ``<who>: could not <doing> (<Operation>: <code>: <message>).``, carries the AWS
    error code, and is a :class:`TransientError` when :func:`is_transient` says so. ``hint``, what a user can do
    about it, ends the sentence (``…); deploy a registered revision.``).
    ``who``, ``region`` and ``hint`` are this function's; every other keyword is the operation's.

    >>> call(aws, "ecs", "describe_tasks", "describe the tasks of api:41", who="ecs_task.run()",
    ...      cluster="prod", tasks=[arn])["tasks"][0]["lastStatus"]
    'RUNNING'
    """
    try:
        client = aws.client(service, region=region)
        answer: dict[str, Any] = getattr(client, operation)(**params)
    except _failures() as exc:
        raise _error(exc, operation, who, doing, hint) from None
    return answer


def pages(aws: ClientFactory, service: str, operation: str, doing: str, /, *, who: str,
          region: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """Every page of a paginated operation, in order; a failure as in :func:`call`."""
    try:
        client = aws.client(service, region=region)
        return list(client.get_paginator(operation).paginate(**params))
    except _failures() as exc:
        raise _error(exc, operation, who, doing) from None


class Patience:
    """How an action that keeps waiting outlasts transient AWS errors.

    :meth:`look` makes one look (a function that calls AWS through :func:`call`); a look that fails with a
    :class:`TransientError` is skipped, and the caller looks again after its usual pause. The first failure of a
    streak is logged through ``warn`` as ``<error>; trying again``, the rest of the streak is not. Any other
    error is raised.

    >>> patience = Patience(ctx.log.warning)
    >>> patience.look(describe_tasks) is None   # it failed with a TransientError: look again after the pause
    True
    """

    def __init__(self, warn: Callable[[str], None]) -> None:
        self._warn = warn
        self.failing: TransientError | None = None  # the last look's error, while looks keep failing

    def look(self, read: Callable[[], _T]) -> _T | None:
        """``read()``, or None when it failed with a TransientError (``read`` must not answer None itself)."""
        try:
            answer = read()
        except TransientError as exc:
            if self.failing is None:
                self._warn(f"{str(exc).rstrip('.')}; trying again")
            self.failing = exc
            return None
        self.failing = None
        return answer

    def retry(self, read: Callable[[], _T], *, attempts: int, pause: float, sleep: Callable[[float], None]) -> _T:
        """``read()``, made up to ``attempts`` times with ``pause`` seconds between transient failures; the last
        attempt's error is raised."""
        for _ in range(attempts - 1):
            answer = self.look(read)
            if answer is not None:
                return answer
            sleep(pause)
        return read()


def _failures() -> tuple[type[BaseException], ...]:
    """What a botocore call raises when it fails (botocore is imported only once a call is made)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, ConnectionError, TimeoutError)


def _error(exc: BaseException, operation: str, who: str, doing: str, hint: str | None = None) -> ActionError:
    """The one translation of a failed call into the project's errors (see :func:`call`)."""
    kind = TransientError if is_transient(exc) else ActionError
    name = "".join(part.capitalize() for part in operation.split("_"))
    detail = mask(error_message(exc)).rstrip(".")
    advice = f"; {hint}" if hint else ""
    return kind(f"{who}: could not {doing} ({name}: {detail}){advice}.", code=error_code(exc))
