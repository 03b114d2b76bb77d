"""aws.py's one way to call AWS: which errors are transient, how a botocore error becomes the project's, paginated
calls, clients per region, and Patience (how a waiting loop outlasts transient errors). Real boto3 clients with
botocore's Stubber; faults that no endpoint answers with (a reset connection) are raised in front of the client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore import exceptions as boto
from botocore.stub import Stubber

from pytest_ecsdeploy.aws import TRANSIENT_CODES, ClientFactory, Patience, call, is_transient, pages
from pytest_ecsdeploy.config import Environment
from pytest_ecsdeploy.errors import ActionError, TransientError

ENDPOINT = "http://127.0.0.1:4566"


def client_error(code: str, status: int = 400, message: str = "It went wrong.", operation: str = "DescribeServices"
                 ) -> boto.ClientError:
    return boto.ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                            operation)


# -- the transient rule -------------------------------------------------------------------------------------------

TRANSIENT: dict[str, BaseException] = {
    **{f"code-{code}": client_error(code) for code in (
        "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestLimitExceeded",
        "SlowDown", "RequestThrottled", "ProvisionedThroughputExceededException", "PriorRequestNotComplete",
        "RequestTimeout", "RequestTimeoutException", "ServiceUnavailable", "ServiceUnavailableException",
        "InternalFailure", "InternalError", "InternalServerError", "ServerException",
    )},
    **{f"status-{status}": client_error(code, status) for code, status in (
        ("TooManyRequests", 429), ("InternalServerError", 500), ("502", 502), ("503", 503), ("504", 504),
        ("SomethingNew", 599),
    )},
    "endpoint-unreachable": boto.EndpointConnectionError(endpoint_url=ENDPOINT),
    "connect-timeout": boto.ConnectTimeoutError(endpoint_url=ENDPOINT),
    "proxy": boto.ProxyConnectionError(proxy_url="http://proxy:3128"),
    "connection-closed": boto.ConnectionClosedError(endpoint_url=ENDPOINT),
    "read-timeout": boto.ReadTimeoutError(endpoint_url=ENDPOINT),
    "incomplete-read": boto.IncompleteReadError(actual_bytes=10, expected_bytes=100),
    "response-streaming": boto.ResponseStreamingError(error="Connection broken: IncompleteRead"),
    "connection-reset": ConnectionResetError(104, "Connection reset by peer"),
    "broken-pipe": BrokenPipeError(32, "Broken pipe"),
    "timeout": TimeoutError("timed out"),
}

NOT_TRANSIENT: dict[str, BaseException] = {
    **{f"code-{code}": client_error(code) for code in (
        "AccessDeniedException", "ClientException", "InvalidParameterException", "ServiceNotFoundException",
        "ClusterNotFoundException", "ValidationException", "UnrecognizedClientException", "ExpiredTokenException",
        "LimitExceededException",  # a quota: waiting does not lift it
    )},
    **{f"status-{status}": client_error("Denied", status) for status in (400, 401, 403, 404, 409)},
    "tls": boto.SSLError(endpoint_url=ENDPOINT, error="certificate verify failed"),
    "no-credentials": boto.NoCredentialsError(),
    "parameters": boto.ParamValidationError(report="Missing required parameter in input: \"cluster\""),
    "no-region": boto.NoRegionError(),
    "value-error": ValueError("not AWS at all"),
}


@pytest.mark.parametrize("name", TRANSIENT, ids=list(TRANSIENT))
def test_transient_errors(name: str) -> None:
    assert is_transient(TRANSIENT[name])


@pytest.mark.parametrize("name", NOT_TRANSIENT, ids=list(NOT_TRANSIENT))
def test_errors_that_waiting_does_not_cure(name: str) -> None:
    assert not is_transient(NOT_TRANSIENT[name])


def test_the_throttling_codes_are_botocores_less_the_quota() -> None:
    from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

    botocore_codes = set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) | set(
        TransientRetryableChecker._TRANSIENT_ERROR_CODES)
    assert botocore_codes - TRANSIENT_CODES == {"LimitExceededException"}


# -- call and pages -----------------------------------------------------------------------------------------------


@pytest.fixture
def aws() -> ClientFactory:
    environment = Environment(name="test", backend="emulator", cluster="local", region="eu-west-1")
    return ClientFactory(environment, local_endpoint=ENDPOINT)


@pytest.fixture
def ecs(aws: ClientFactory) -> Iterator[Stubber]:
    with Stubber(aws.client("ecs")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_clients_are_made_once_per_service_and_region(aws: ClientFactory) -> None:
    assert aws.client("ecs") is aws.client("ecs") is aws.client("ecs", region="eu-west-1")
    other = aws.client("ecs", region="us-east-1")
    assert other is aws.client("ecs", region="us-east-1") is not aws.client("ecs")
    assert (aws.client("ecs").meta.region_name, other.meta.region_name) == ("eu-west-1", "us-east-1")
    assert other.meta.endpoint_url == ENDPOINT


def test_call_answers_what_the_operation_answers(aws: ClientFactory, ecs: Stubber) -> None:
    ecs.add_response("describe_clusters", {"clusters": [{"clusterName": "local", "status": "ACTIVE"}]},
                     {"clusters": ["local"]})
    answer = call(aws, "ecs", "describe_clusters", "describe cluster 'local'", who="ecs_service", clusters=["local"])
    assert answer["clusters"][0]["status"] == "ACTIVE"


def test_an_aws_refusal_is_an_action_error_naming_the_operation_and_what_was_done(aws: ClientFactory,
                                                                                  ecs: Stubber) -> None:
    ecs.add_client_error("describe_services", "ClusterNotFoundException", "Cluster not found.", 400)
    with pytest.raises(ActionError) as raised:
        call(aws, "ecs", "describe_services", "describe service 'web' in cluster 'nowhere'", who="smoke",
             cluster="nowhere", services=["web"])
    assert type(raised.value) is ActionError and raised.value.code == "ClusterNotFoundException"
    assert str(raised.value) == ("smoke: could not describe service 'web' in cluster 'nowhere' (DescribeServices: "
                                 "ClusterNotFoundException: Cluster not found).")


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 400), ("ServerException", 500),
                                              ("SomethingNew", 503)])
def test_a_transient_refusal_is_a_transient_error(aws: ClientFactory, ecs: Stubber, code: str, status: int) -> None:
    ecs.add_client_error("list_tasks", code, "Try later", status)
    with pytest.raises(TransientError) as raised:
        call(aws, "ecs", "list_tasks", "list the tasks of service 'web'", who="ecs_service", cluster="local")
    assert raised.value.code == code
    assert str(raised.value) == f"ecs_service: could not list the tasks of service 'web' (ListTasks: {code}: Try later)."


class Failing:
    """A client whose every operation raises ``error`` (what a connection does; no stub can)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __getattr__(self, name: str) -> Any:
        def fail(**params: Any) -> Any:
            raise self.error

        return fail


class FailingFactory:
    def __init__(self, error: BaseException) -> None:
        self.failing = Failing(error)
        self.asked: list[tuple[str, str | None]] = []

    def client(self, service_name: str, region: str | None = None) -> Any:
        self.asked.append((service_name, region))
        return self.failing


def test_a_reset_connection_is_a_transient_error_without_a_code() -> None:
    aws = FailingFactory(boto.ConnectionClosedError(endpoint_url=ENDPOINT))
    with pytest.raises(TransientError) as raised:
        call(aws, "ecs", "describe_tasks", "describe the tasks of api:41", who="ecs_task.run()",  # type: ignore[arg-type]
             cluster="local", tasks=["t"])
    assert raised.value.code is None
    assert str(raised.value) == ("ecs_task.run(): could not describe the tasks of api:41 (DescribeTasks: Connection "
                                 f"was closed before we received a valid response from endpoint URL: \"{ENDPOINT}\").")


def test_the_region_picks_the_client() -> None:
    aws = FailingFactory(boto.NoCredentialsError())
    with pytest.raises(ActionError, match=r"^ecr: could not read the manifest of web:1 \(BatchGetImage: Unable to "
                                          r"locate credentials\)\.$"):
        call(aws, "ecr", "batch_get_image", "read the manifest of web:1", who="ecr",  # type: ignore[arg-type]
             region="us-west-2", repositoryName="web")
    assert aws.asked == [("ecr", "us-west-2")]


def test_a_password_inside_a_url_in_an_aws_message_is_masked() -> None:
    aws = FailingFactory(client_error("ClientException", message="Invalid setting postgres://app:pa55@db:5432/x",
                                      operation="RegisterTaskDefinition"))
    with pytest.raises(ActionError) as raised:
        call(aws, "ecs", "register_task_definition", "register a revision of family 'web'",  # type: ignore[arg-type]
             who="task_definition", family="web")
    assert "pa55" not in str(raised.value)
    assert str(raised.value) == ("task_definition: could not register a revision of family 'web' "
                                 "(RegisterTaskDefinition: ClientException: Invalid setting "
                                 "postgres://app:<masked>@db:5432/x).")


@pytest.mark.parametrize(("error", "kind"), [
    (client_error("ClientException", message="Unable to describe task definition."), ActionError),
    (boto.EndpointConnectionError(endpoint_url=ENDPOINT), TransientError),
], ids=["refused", "unreachable"])
def test_a_hint_ends_the_sentence(error: BaseException, kind: type[ActionError]) -> None:
    with pytest.raises(ActionError) as raised:
        call(FailingFactory(error), "ecs", "describe_task_definition", "describe the task definition web:99",  # type: ignore[arg-type]
             who="service 'web'", hint="deploy a registered revision", taskDefinition="web:99")
    assert type(raised.value) is kind
    assert str(raised.value).startswith("service 'web': could not describe the task definition web:99 "
                                        "(DescribeTaskDefinition: ")
    assert str(raised.value).endswith("); deploy a registered revision.")


def test_an_error_that_is_not_a_call_failing_is_not_translated() -> None:
    with pytest.raises(KeyError):
        call(FailingFactory(KeyError("a bug")), "ecs", "list_tasks", "list tasks", who="x")  # type: ignore[arg-type]


def test_pages_answers_every_page_in_order(aws: ClientFactory, ecs: Stubber) -> None:
    ecs.add_response("list_task_definitions", {"taskDefinitionArns": ["a:1"], "nextToken": "n"}, {"familyPrefix": "a"})
    ecs.add_response("list_task_definitions", {"taskDefinitionArns": ["a:2"]}, {"familyPrefix": "a", "nextToken": "n"})
    answers = pages(aws, "ecs", "list_task_definitions", "list the revisions of a", who="x", familyPrefix="a")
    assert [page["taskDefinitionArns"] for page in answers] == [["a:1"], ["a:2"]]


def test_a_failed_page_is_translated_too(aws: ClientFactory, ecs: Stubber) -> None:
    ecs.add_response("list_task_definitions", {"taskDefinitionArns": ["a:1"], "nextToken": "n"}, {"familyPrefix": "a"})
    ecs.add_client_error("list_task_definitions", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(TransientError, match=r"^x: could not list the revisions of a \(ListTaskDefinitions: "
                                             r"ThrottlingException: Rate exceeded\)\.$"):
        pages(aws, "ecs", "list_task_definitions", "list the revisions of a", who="x", familyPrefix="a")


# -- Patience -----------------------------------------------------------------------------------------------------


class Reads:
    """A read that fails as ``plan`` says, one entry per look (an exception, or None to answer ``n``)."""

    def __init__(self, *plan: BaseException | None) -> None:
        self.plan = list(plan)
        self.looks = 0

    def __call__(self) -> int:
        self.looks += 1
        fault = self.plan.pop(0) if self.plan else None
        if fault is not None:
            raise fault
        return self.looks


THROTTLED = TransientError("x: could not look (DescribeServices: ThrottlingException: Rate exceeded).",
                           code="ThrottlingException")
RESET = TransientError("x: could not look (DescribeServices: Connection was closed).")


def test_a_look_that_fails_transiently_is_skipped_and_a_streak_is_warned_once() -> None:
    warnings: list[str] = []
    patience = Patience(warnings.append)
    read = Reads(THROTTLED, RESET, None, RESET, None)

    answers = [patience.look(read) for _ in range(5)]

    assert answers == [None, None, 3, None, 5]
    assert warnings == [
        "x: could not look (DescribeServices: ThrottlingException: Rate exceeded); trying again",
        "x: could not look (DescribeServices: Connection was closed); trying again",
    ]
    assert patience.failing is None


def test_patience_remembers_the_failure_while_looks_keep_failing() -> None:
    patience = Patience(lambda line: None)
    assert patience.look(Reads(THROTTLED)) is None and patience.failing is THROTTLED


def test_patience_never_swallows_an_error_waiting_cannot_cure() -> None:
    denied = ActionError("x: could not look (DescribeServices: AccessDeniedException: no).", code="AccessDeniedException")
    with pytest.raises(ActionError) as raised:
        Patience(lambda line: None).look(Reads(denied))
    assert raised.value is denied


def test_retry_pauses_between_transient_failures_and_answers() -> None:
    sleeps: list[float] = []
    warnings: list[str] = []
    read = Reads(THROTTLED, THROTTLED, None)
    assert Patience(warnings.append).retry(read, attempts=4, pause=5.0, sleep=sleeps.append) == 3
    assert sleeps == [5.0, 5.0] and len(warnings) == 1


def test_retry_raises_the_last_attempts_error() -> None:
    sleeps: list[float] = []
    read = Reads(THROTTLED, THROTTLED, THROTTLED, RESET, None)
    with pytest.raises(TransientError) as raised:
        Patience(lambda line: None).retry(read, attempts=4, pause=5.0, sleep=sleeps.append)
    assert raised.value is RESET and read.looks == 4 and sleeps == [5.0, 5.0, 5.0]
