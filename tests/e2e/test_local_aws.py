"""LocalAWS over HTTP with real boto3 clients: lifecycle, moto's services, control routes, the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.emulator.seeding import image_manifest
from pytest_ecsdeploy.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


@pytest.fixture
def local_aws() -> Iterator[LocalAWS]:
    with LocalAWS() as local:
        yield local


def _emulator_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ecsdeploy-emulator")]


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# -- lifecycle -------------------------------------------------------------------------------------------


def test_start_answers_and_stop_frees_the_port_and_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    aws = LocalAWS().start()
    port = aws.port
    assert aws.endpoint_url == f"http://127.0.0.1:{port}"
    sts = aws.client("sts")
    assert sts.get_caller_identity()["Account"] == "123456789012" == aws.account_id
    aws.client("ecr").describe_repositories()  # a second keep-alive connection, still open at stop
    assert _emulator_threads()
    aws.stop()
    assert _port_is_free(port)
    assert _emulator_threads() == []
    assert set(threading.enumerate()) - before == set()
    aws.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not running"):
        _ = aws.endpoint_url


def test_a_second_local_aws_in_the_same_process_is_refused(local_aws: LocalAWS) -> None:
    with pytest.raises(RuntimeError, match=r"another LocalAWS is already running in this process at http://"):
        LocalAWS().start()
    # the first one is unharmed
    assert local_aws.client("sts").get_caller_identity()["Account"] == "123456789012"


def test_each_local_aws_starts_empty() -> None:
    with LocalAWS() as first:
        first.client("ecr").create_repository(repositoryName="left-over")
    with LocalAWS() as second:
        assert second.client("ecr").describe_repositories()["repositories"] == []


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(RuntimeError, match=rf"cannot listen on 127\.0\.0\.1:{port}: .*in use"):
            LocalAWS(port=port).start()
    with LocalAWS() as aws:  # the failed start released the process-wide slot
        assert aws.running


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError, match="speed must be a positive number, got 0"):
        LocalAWS(speed=0)


def test_runner_by_name() -> None:
    # runner "docker" and "auto": tests/e2e/test_docker_lifecycle.py
    with pytest.raises(ValueError, match=r"^'podman' is not a task runner; choose one of: auto, simulated, docker\.$"):
        LocalAWS(runner="podman")
    with LocalAWS(runner="simulated") as aws:
        aws.set_image_behaviour("web:1", "crash", exit_code=2)  # the simulated runner takes behaviours


# -- moto's services through the endpoint -----------------------------------------------------------------


def test_ecr_repository_images_and_error_codes(local_aws: LocalAWS) -> None:
    ecr = local_aws.client("ecr")
    uri = ecr.create_repository(repositoryName="web")["repository"]["repositoryUri"]
    assert uri == "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"
    digest = ecr.put_image(repositoryName="web", imageTag="1.0.0", imageManifest=image_manifest("web", "1.0.0"))[
        "image"
    ]["imageId"]["imageDigest"]
    images = ecr.describe_images(repositoryName="web", imageIds=[{"imageTag": "1.0.0"}])["imageDetails"]
    assert images[0]["imageDigest"] == digest
    with pytest.raises(ClientError) as exc:
        ecr.create_repository(repositoryName="web")
    assert _error_code(exc) == "RepositoryAlreadyExistsException"
    with pytest.raises(ClientError) as exc:
        ecr.describe_images(repositoryName="web", imageIds=[{"imageTag": "9.9.9"}])
    assert _error_code(exc) == "ImageNotFoundException"
    with pytest.raises(ClientError) as exc:
        ecr.describe_repositories(repositoryNames=["nope"])
    assert _error_code(exc) == "RepositoryNotFoundException"


def test_ecs_clusters_and_task_definitions_go_to_moto(local_aws: LocalAWS) -> None:
    ecs = local_aws.client("ecs")
    ecs.create_cluster(clusterName="local")
    assert ecs.describe_clusters(clusters=["local"])["clusters"][0]["status"] == "ACTIVE"
    container = {"name": "app", "image": "web:1", "memory": 128}
    first = ecs.register_task_definition(family="web", containerDefinitions=[container])["taskDefinition"]
    second = ecs.register_task_definition(family="web", containerDefinitions=[container])["taskDefinition"]
    assert (first["revision"], second["revision"]) == (1, 2)
    ecs.deregister_task_definition(taskDefinition="web:1")
    assert ecs.describe_task_definition(taskDefinition="web:1")["taskDefinition"]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as exc:
        ecs.describe_task_definition(taskDefinition="nope:1")
    assert _error_code(exc) == "ClientException"
    state = local_aws.snapshot()["ecs"]["task_definitions"]["123456789012"]["us-east-1"]["web"]
    assert [(r["revision"], r["status"]) for r in state] == [(1, "INACTIVE"), (2, "ACTIVE")]


def test_sts_assume_role_gives_another_account(local_aws: LocalAWS) -> None:
    credentials = local_aws.client("sts").assume_role(
        RoleArn="arn:aws:iam::111122223333:role/deployer", RoleSessionName="test"
    )["Credentials"]
    other = local_aws.client(
        "sts",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    assert other.get_caller_identity()["Account"] == "111122223333"


def test_snapshot_is_stable_without_writes_and_changes_with_one(local_aws: LocalAWS) -> None:
    local_aws.client("ecr").create_repository(repositoryName="web")
    first = local_aws.snapshot()
    # reads in other regions and services create empty moto backends: still the same state
    local_aws.client("ecr", region_name="eu-west-1").describe_repositories()
    local_aws.client("secretsmanager").list_secrets()
    local_aws.client("ssm").describe_parameters()
    local_aws.client("elbv2").describe_target_groups()
    time.sleep(1.1)
    assert local_aws.snapshot() == first
    assert json.loads(json.dumps(first)) == first
    local_aws.client("ssm").put_parameter(Name="/web/url", Value="x", Type="String")
    assert local_aws.snapshot()["ssm"] == {"123456789012": {"us-east-1": {"parameters": ["/web/url"]}}}


# -- control routes ---------------------------------------------------------------------------------------


_CLIENT = textwrap.dedent(
    """
    import json, sys, urllib.error, urllib.request
    url, method, body = sys.argv[1], sys.argv[2], sys.argv[3]
    request = urllib.request.Request(url, method=method, data=body.encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            print(answer.status, answer.read().decode())
    except urllib.error.HTTPError as error:
        print(error.code, error.read().decode())
    """
)


def _from_another_process(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    text = "" if body is None else body if isinstance(body, str) else json.dumps(body)
    done = subprocess.run([PYTHON, "-c", _CLIENT, url, method, text], capture_output=True, text=True, timeout=30,
                          check=True)
    status, _, payload = done.stdout.partition(" ")
    return int(status), json.loads(payload)


def test_state_route_from_another_process(local_aws: LocalAWS) -> None:
    local_aws.client("ecs").create_cluster(clusterName="local")
    status, state = _from_another_process(f"{local_aws.endpoint_url}/_ecsdeploy/state")
    assert status == 200
    assert state == local_aws.snapshot()
    assert state["ecs"]["clusters"]["123456789012"]["us-east-1"]["local"]["status"] == "ACTIVE"


def test_reset_route_empties_the_state(local_aws: LocalAWS) -> None:
    local_aws.client("ecr").create_repository(repositoryName="web")
    status, answer = _from_another_process(f"{local_aws.endpoint_url}/_ecsdeploy/reset", "POST")
    assert (status, answer) == (200, {"reset": True, "seeded": False})
    assert local_aws.client("ecr").describe_repositories()["repositories"] == []
    assert local_aws.snapshot()["ecr"] == {}


@pytest.mark.parametrize(
    ("method", "route", "body", "status", "error"),
    [
        ("GET", "nope", None, 404, "no route GET /_ecsdeploy/nope; the control routes are: "
                                   "POST /_ecsdeploy/codedeploy-hook, POST /_ecsdeploy/image-behaviour, "
                                   "POST /_ecsdeploy/reset, GET /_ecsdeploy/state."),
        ("GET", "reset", None, 405, "no route GET /_ecsdeploy/reset; the control routes are: "
                                    "POST /_ecsdeploy/codedeploy-hook, POST /_ecsdeploy/image-behaviour, "
                                    "POST /_ecsdeploy/reset, GET /_ecsdeploy/state."),
        ("POST", "image-behaviour", "{not json", 400, "the request body is not JSON: "
                                                      "Expecting property name enclosed in double quotes: "
                                                      "line 1 column 2 (char 1)."),
        ("POST", "image-behaviour", [1], 400, "the request body must be a JSON object."),
        ("POST", "image-behaviour", {"behaviour": "crash"}, 400, "image: expected a non-empty string, got None."),
        ("POST", "image-behaviour", {"image": "web:1", "behaviour": 3}, 400,
         "behaviour: expected a non-empty string, got 3."),
        ("POST", "reset", {"seed": "no"}, 400, "seed: expected true or false, got 'no'."),
    ],
)
def test_control_route_errors(local_aws: LocalAWS, method: str, route: str, body: Any, status: int, error: str) -> None:
    url = f"{local_aws.endpoint_url}/_ecsdeploy/{route}"
    assert _from_another_process(url, method, body) == (status, {"error": error})


# -- seeding ----------------------------------------------------------------------------------------------


def test_seed_from_a_mapping_creates_everything_through_the_api(tmp_path: Path) -> None:
    (tmp_path / "worker.json").write_text(json.dumps(
        {"family": "ignored", "containerDefinitions": [{"name": "w", "image": "${IMAGE}", "memory": 64}]}
    ))
    seed = {
        "clusters": ["local", "batch"],
        "repositories": {"web": {"tags": ["1.0.0", "1.1.0"], "image_tag_mutability": "IMMUTABLE"}},
        "task_definitions": {"worker": "worker.json"},
        "secrets": {"db/password": "s3cret"},
        "ssm_parameters": {"/web/url": "http://x", "/web/key": {"value": "k", "type": "SecureString"}},
        "log_groups": ["/ecs/web", "/ecs/worker"],
    }
    with LocalAWS(seed, base_dir=tmp_path, variables={"IMAGE": "busybox:1"}, region="eu-west-1") as aws:
        ecr = aws.client("ecr")
        repository = ecr.describe_repositories()["repositories"][0]
        assert (repository["repositoryName"], repository["imageTagMutability"]) == ("web", "IMMUTABLE")
        images = ecr.describe_images(repositoryName="web")["imageDetails"]
        assert sorted(tag for image in images for tag in image["imageTags"]) == ["1.0.0", "1.1.0"]
        assert len({image["imageDigest"] for image in images}) == 2
        manifest = ecr.batch_get_image(repositoryName="web", imageIds=[{"imageTag": "1.0.0"}])["images"][0]
        assert json.loads(manifest["imageManifest"])["mediaType"] == (
            "application/vnd.docker.distribution.manifest.v2+json"
        )
        ecs = aws.client("ecs")
        assert sorted(ecs.list_clusters()["clusterArns"]) == [
            "arn:aws:ecs:eu-west-1:123456789012:cluster/batch",
            "arn:aws:ecs:eu-west-1:123456789012:cluster/local",
        ]
        worker = ecs.describe_task_definition(taskDefinition="worker")["taskDefinition"]
        assert (worker["revision"], worker["containerDefinitions"][0]["image"]) == (1, "busybox:1")
        secret = aws.client("secretsmanager").get_secret_value(SecretId="db/password")
        assert secret["SecretString"] == "s3cret"
        parameter = aws.client("ssm").get_parameter(Name="/web/key", WithDecryption=True)["Parameter"]
        assert (parameter["Type"], parameter["Value"]) == ("SecureString", "k")
        groups = aws.client("logs").describe_log_groups()["logGroups"]
        assert [group["logGroupName"] for group in groups] == ["/ecs/web", "/ecs/worker"]
        seeded = aws.snapshot()

        # reset with the seed gives the same state back; the same digests too
        aws.client("ecr").delete_repository(repositoryName="web", force=True)
        aws.reset()
        again = aws.snapshot()
        assert again["ecr"] == seeded["ecr"]
        assert again["ecs"] == seeded["ecs"]
        assert again["ssm"] == seeded["ssm"]
        assert set(again["secretsmanager"]["123456789012"]["eu-west-1"]) == {"db/password"}


def test_a_bad_seed_fails_before_anything_starts(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"containerDefinitions": [{"name": "app", "image": "web:1"}]}')
    with pytest.raises(ConfigError, match=r"^LocalAWS\(seed=\.\.\.\): \[services\.web\] desired_count: expected an "
                                          r"integer, got 'two' \(a string\)\.$"):
        LocalAWS({"services": {"web": {"task_definition": "x.json", "desired_count": "two"}}},
                 base_dir=tmp_path).start()
    assert _emulator_threads() == []
    with LocalAWS() as aws:  # nothing was left holding the process-wide slot
        assert aws.running


# -- the command ------------------------------------------------------------------------------------------


def _emulator(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "-m", "pytest_ecsdeploy.emulator.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


def _wait_for_banner(process: subprocess.Popen[str]) -> tuple[str, str]:
    """The endpoint URL and the banner's lines read so far (the banner ends with the control routes)."""
    assert process.stdout is not None
    lines = [process.stdout.readline()]
    assert "local AWS at http://127.0.0.1:" in lines[0], lines[0] + (process.stderr.read() if process.stderr else "")
    while not lines[-1].startswith("Control: "):
        lines.append(process.stdout.readline())
    return lines[0].split(" at ", 1)[1].split(" ", 1)[0], "".join(lines)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_serves_until_interrupted(tmp_path: Path, stop_signal: signal.Signals) -> None:
    seed = tmp_path / "seed.toml"
    seed.write_text('clusters = ["local"]\n[repositories.web]\ntags = ["1.0.0"]\n')
    process = _emulator("--port", "0", "--seed", str(seed), "--speed", "5")
    try:
        url, banner = _wait_for_banner(process)
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                        region_name="us-east-1")
        assert session.client("sts", endpoint_url=url).get_caller_identity()["Account"] == "123456789012"
        repositories = session.client("ecr", endpoint_url=url).describe_repositories()["repositories"]
        assert [r["repositoryName"] for r in repositories] == ["web"]
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert f"export AWS_ENDPOINT_URL={url} AWS_ACCESS_KEY_ID=testing" in banner
    assert out == "ecsdeploy-emulator: stopped.\n"
    assert err == ""


@pytest.mark.parametrize(
    ("args", "seed_text", "message"),
    [
        (["--speed", "0"], None,
         "ecsdeploy-emulator: error: argument --speed: expected a positive number, got 0.0; "
         "see ecsdeploy-emulator --help."),
        (["--port", "http"], None,
         "ecsdeploy-emulator: error: argument --port: invalid int value: 'http'; see ecsdeploy-emulator --help."),
        (["--port", "70000"], None,
         "ecsdeploy-emulator: error: argument --port: 70000 is not a port number (0 to 65535); "
         "see ecsdeploy-emulator --help."),
        (["--var", "NOEQUALS"], None,
         "ecsdeploy-emulator: error: argument --var: expected KEY=VALUE, got 'NOEQUALS'; "
         "see ecsdeploy-emulator --help."),
        (["--seed", "{seed}"], "clusters = 'local'\n",
         "ecsdeploy-emulator: error: {seed}: clusters: expected a list of strings, got 'local' (a string)."),
        (["--seed", "{seed}"], "clusters = [\n",
         "ecsdeploy-emulator: error: {seed} is not valid TOML: "),
        (["--seed", "{missing}"], None,
         "ecsdeploy-emulator: error: {missing} does not exist; check the path given to --seed."),
    ],
)
def test_cli_bad_arguments_are_one_line_and_exit_2(
    tmp_path: Path, args: list[str], seed_text: str | None, message: str
) -> None:
    seed = tmp_path / "seed.toml"
    if seed_text is not None:
        seed.write_text(seed_text)
    names = {"seed": str(seed), "missing": str(tmp_path / "missing.toml")}
    args = [arg.format(**names) for arg in args]
    done = subprocess.run([PYTHON, "-m", "pytest_ecsdeploy.emulator.cli", "--port", "0", *args],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(message.format(**names))


def test_cli_port_in_use_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([PYTHON, "-m", "pytest_ecsdeploy.emulator.cli", "--port", str(port)],
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1
    assert done.stderr.startswith(f"ecsdeploy-emulator: error: cannot listen on 127.0.0.1:{port}: ")
    assert done.stderr.count("\n") == 1


def test_an_action_moto_lacks_is_an_unknown_operation_not_a_500(local_aws: LocalAWS) -> None:
    with pytest.raises(ClientError) as exc:  # JSON protocol
        local_aws.client("ecs").get_task_protection(cluster="local")
    assert _error_code(exc) == "UnknownOperationException"
    assert re.fullmatch(r"the embedded local AWS \(moto [\d.]+\) does not implement GetTaskProtection\.",
                        exc.value.response["Error"]["Message"])
    assert exc.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    sts = local_aws.client("sts")
    with pytest.raises(ClientError) as exc:  # query protocol
        sts.get_delegated_access_token(TradeInToken="x")
    assert _error_code(exc) == "InvalidAction"
    assert exc.value.response["Error"]["Message"].endswith("does not implement GetDelegatedAccessToken.")
