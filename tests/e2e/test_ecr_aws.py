"""Ecr against the embedded local AWS: digest pinning, missing repositories and tags, the scan gate, registry-side
promotion (across repositories, immutable tags, idempotent, planned) and pushes (the Docker engine's side faked
here; test_ecr_docker.py pushes through a real engine into the emulator's registry)."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from fakes import FakeClock

from pytest_ecsdeploy.actions.ecr import Ecr, ImageRef
from pytest_ecsdeploy.context import ServiceContext
from pytest_ecsdeploy.emulator import LocalAWS
from pytest_ecsdeploy.errors import ActionError, CheckFailed

ServiceContextFactory = Callable[..., ServiceContext]  # the service_context fixture (tests/e2e/conftest.py)
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def manifest(layer: str) -> str:
    """A Docker v2 manifest whose layer digest is derived from ``layer`` (moto derives the image digest from it)."""
    digest = "sha256:" + hashlib.sha256(layer.encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_V2,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                   "digest": "sha256:" + hashlib.sha256(f"config-{layer}".encode()).hexdigest()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2811, "digest": digest}],
    })


def put(local: LocalAWS, repository: str, tag: str, layer: str, region: str | None = None) -> str:
    """Put an image into the emulator's ECR, create the repository when needed; returns its digest."""
    ecr = local.client("ecr", region_name=region)
    if not ecr.describe_repositories()["repositories"] or repository not in {
            r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}:
        ecr.create_repository(repositoryName=repository)
    answer = ecr.put_image(repositoryName=repository, imageManifest=manifest(layer), imageTag=tag)
    return str(answer["image"]["imageId"]["imageDigest"])


def scan_results(local: LocalAWS, repository: str, tag: str, body: dict[str, Any]) -> None:
    """Give the image a scan with these findings: moto's API for custom scan results, then StartImageScan."""
    result = {"repositoryName": repository, "imageId": {"imageTag": tag},
              "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
              "imageScanFindings": body}
    request = urllib.request.Request(
        f"{local.endpoint_url}/moto-api/static/ecr/scan-finding-results",
        data=json.dumps({"results": [result], "region": local.region}).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310 - the local emulator
        assert response.status == 201
    local.client("ecr").start_image_scan(repositoryName=repository, imageId={"imageTag": tag})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_ecr(service_context: ServiceContextFactory, clock: FakeClock) -> Callable[..., Ecr]:
    def make(**options: Any) -> Ecr:
        docker_client = options.pop("docker_client", None)
        return Ecr(service_context(**options), sleep=clock.sleep, clock=clock, docker_client=docker_client)

    return make


@pytest.fixture
def scans_in_progress(module_client_factory: Any) -> Iterator[list[int]]:
    """Answer DescribeImageScanFindings with IN_PROGRESS while the list's number is above zero (counting down),
    through a botocore before-call hook on the real client; then ECR's own answer goes through."""
    remaining = [0]

    def in_progress(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if remaining[0] == 0:
            return None
        remaining[0] -= 1
        return AWSResponse("http://emulator", 200, {}, None), {
            "imageScanStatus": {"status": "IN_PROGRESS", "description": "scanning"}, "ResponseMetadata": {}}

    events = module_client_factory.client("ecr").meta.events
    events.register("before-call.ecr.DescribeImageScanFindings", in_progress)
    yield remaining
    events.unregister("before-call.ecr.DescribeImageScanFindings", in_progress)


def results(ecr: Ecr) -> list[tuple[str, str, str]]:
    return [(c.action, c.name, c.result) for c in ecr.ctx.checks.items]


# -- image() ------------------------------------------------------------------------------------------------


def test_image_pins_the_tag_to_its_digest(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    digest = put(clean_aws, "web", "1.4.2", "one")
    ecr = make_ecr(image_tag="1.4.2")
    ref = ecr.image()
    assert ref == ImageRef(repository_uri=f"{URI}/web", tag="1.4.2", digest=digest, registry_id="123456789012",
                           repository_name="web")
    assert str(ref) == ref.reference == f"{URI}/web@{digest}"
    assert results(ecr) == [("ecr.image", "repository exists", "passed"), ("ecr.image", "tag exists", "passed"),
                            ("ecr.image", "scan findings", "skipped")]
    assert "has no scan" in ecr.ctx.checks.items[-1].detail
    assert ecr.image("1.4.2") is ref and len(ecr.ctx.checks.items) == 3  # cached: asked once per scope


def test_image_needs_a_tag(make_ecr: Callable[..., Ecr]) -> None:
    with pytest.raises(ActionError, match=r"ecr\.image\(\): no image tag was given for service '\w+'; pass "
                                          r"--image-tag TAG, --image-tag \w+=TAG"):
        make_ecr().image()


def test_a_missing_repository_is_one_sentence(make_ecr: Callable[..., Ecr]) -> None:
    ecr = make_ecr(repository="nope")
    with pytest.raises(CheckFailed, match=r"repository exists: repository 'nope' does not exist in registry "
                                          r"123456789012 \(us-east-1\)\.$"):
        ecr.image("1.0")


def test_a_missing_tag_names_the_nearest_tags(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    for index, tag in enumerate(("1.4.2", "1.4.3-rc1", "2.0.0", "latest")):
        put(clean_aws, "web", tag, f"layer-{index}")
    with pytest.raises(CheckFailed) as failure:
        make_ecr().image("1.4.3")
    message = str(failure.value)
    assert message.startswith("check failed: tag exists: tag '1.4.3' is not in repository 'web'; nearest tags: "
                              "1.4.2, 1.4.3-rc1; most recently pushed: ")
    clean_aws.reset(seed=False)
    clean_aws.client("ecr").create_repository(repositoryName="web")
    with pytest.raises(CheckFailed, match=r"tag '1\.0' is not in repository 'web'; the repository holds no tagged"):
        make_ecr().image("1.0")


def test_the_scan_gate_fails_on_critical_findings_with_their_ids(clean_aws: LocalAWS,
                                                                 make_ecr: Callable[..., Ecr]) -> None:
    put(clean_aws, "web", "1.0", "vulnerable")
    scan_results(clean_aws, "web", "1.0", {
        "findings": [{"name": "CVE-2024-0001", "severity": "CRITICAL"}, {"name": "CVE-2024-0002", "severity": "LOW"},
                     {"name": "CVE-2024-0003", "severity": "CRITICAL"}],
        "findingSeverityCounts": {"CRITICAL": 2, "LOW": 1},
    })
    ecr = make_ecr()
    with pytest.raises(CheckFailed, match=r"scan findings: 2 findings at or above CRITICAL in web:1\.0 \(sha256:"
                                          r"[0-9a-f]{12}…\): CVE-2024-0001 \(CRITICAL\), CVE-2024-0003 \(CRITICAL\)\.$"):
        ecr.image("1.0")


def test_the_scan_gate_threshold_is_the_services(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    """moto's default scan answer holds one HIGH finding, CVE-9999-9999."""
    put(clean_aws, "web", "1.0", "high")
    clean_aws.client("ecr").start_image_scan(repositoryName="web", imageId={"imageTag": "1.0"})
    ecr = make_ecr()
    ecr.image("1.0")
    assert ecr.ctx.checks.items[-1].detail.endswith("(found: HIGH 1)")
    assert ecr.ctx.checks.items[-1].detail.startswith("none at or above CRITICAL in web:1.0")
    with pytest.raises(CheckFailed, match=r"1 finding at or above HIGH in web:1\.0 .*: CVE-9999-9999 \(HIGH\)\."):
        make_ecr(scan_severity="HIGH").image("1.0")
    off = make_ecr(scan_severity="NONE")
    off.image("1.0")
    assert off.ctx.checks.items[-1].result == "skipped" and "scan_severity = NONE" in off.ctx.checks.items[-1].detail


def test_enhanced_findings_are_named_by_vulnerability_id(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    put(clean_aws, "web", "1.0", "enhanced")
    scan_results(clean_aws, "web", "1.0", {"enhancedFindings": [
        {"findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/1", "severity": "HIGH",
         "title": "CVE-2023-4863 - libwebp", "packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2023-4863"}},
        {"findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/2", "severity": "UNTRIAGED"},
    ]})
    with pytest.raises(CheckFailed, match=r": CVE-2023-4863 \(HIGH\)\.$"):
        make_ecr(scan_severity="HIGH").image("1.0")


def test_a_scan_in_progress_is_waited_for(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr], clock: FakeClock,
                                          scans_in_progress: list[int]) -> None:
    put(clean_aws, "web", "1.0", "slow-scan")
    scan_results(clean_aws, "web", "1.0", {"findings": [{"name": "CVE-1", "severity": "MEDIUM"}]})
    scans_in_progress[0] = 3
    ecr = make_ecr()
    ecr.image("1.0")
    assert clock.sleeps == [5.0, 5.0, 5.0]
    assert ecr.ctx.checks.items[-1].result == "passed"
    assert "waiting for the scan of web:1.0" in ecr.ctx.log.lines[0]  # type: ignore[attr-defined]


def test_a_scan_that_never_ends_fails_after_the_timeout(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr],
                                                        clock: FakeClock, scans_in_progress: list[int]) -> None:
    put(clean_aws, "web", "1.0", "stuck-scan")
    scan_results(clean_aws, "web", "1.0", {"findings": []})
    scans_in_progress[0] = 10_000
    ecr = make_ecr()
    ecr.scan_timeout_seconds = 60
    with pytest.raises(CheckFailed, match=r"the scan of web:1\.0 .* is still IN_PROGRESS after 60 s\."):
        ecr.image("1.0")
    assert len(clock.sleeps) == 12
    waiting = [line for line in ecr.ctx.log.lines if "waiting for the scan" in line]  # type: ignore[attr-defined]
    assert len(waiting) == 2  # at the start and after 30 s, not at every poll


# -- promote() ----------------------------------------------------------------------------------------------


def test_promote_across_repositories(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    digest = put(clean_aws, "web-candidates", "1.5.0-rc2", "release")
    clean_aws.client("ecr").create_repository(repositoryName="web")
    ecr = make_ecr()
    ref = ecr.promote("web-candidates:1.5.0-rc2", to="1.5.0")
    assert (ref.repository_uri, ref.tag, ref.digest, ref.planned) == (f"{URI}/web", "1.5.0", digest, False)
    image = clean_aws.client("ecr").batch_get_image(repositoryName="web", imageIds=[{"imageTag": "1.5.0"}])
    assert image["images"][0]["imageManifest"] == manifest("release")
    assert image["images"][0]["imageManifestMediaType"] == DOCKER_V2
    assert results(ecr) == [("ecr.promote", "repository exists", "passed"),
                            ("ecr.promote", "source image exists", "passed"),
                            ("ecr.promote", "tag points at the image", "passed")]
    assert ecr.ctx.checks.items[-1].phase == "post"


def test_promote_from_an_image_ref_and_a_full_uri_in_another_region(clean_aws: LocalAWS,
                                                                    make_ecr: Callable[..., Ecr]) -> None:
    digest = put(clean_aws, "web", "1.0", "regional")
    west = put(clean_aws, "web-west", "2.0", "west", region="us-west-2")
    ecr = make_ecr()
    assert ecr.promote(ecr.image("1.0"), to="stable").digest == digest
    assert ecr.promote("123456789012.dkr.ecr.us-west-2.amazonaws.com/web-west:2.0", to="2.0").digest == west
    assert ecr.image("stable").digest == digest and ecr.image("2.0").digest == west


def test_promote_is_idempotent(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    put(clean_aws, "web", "1.0", "same")
    make_ecr().promote("web:1.0", to="prod")
    before = clean_aws.snapshot()
    ecr = make_ecr()
    ecr.promote("web:1.0", to="prod")
    assert clean_aws.snapshot() == before
    check = ecr.ctx.checks.items[-1]
    assert (check.name, check.result, check.phase) == ("tag points at the image", "passed", "pre")
    assert check.detail.endswith("; nothing written")


def test_promote_to_an_immutable_tag_that_points_elsewhere(clean_aws: LocalAWS,
                                                           make_ecr: Callable[..., Ecr]) -> None:
    ecr_api = clean_aws.client("ecr")
    ecr_api.create_repository(repositoryName="web", imageTagMutability="IMMUTABLE")
    old = put(clean_aws, "web", "1.5.0", "old")
    new = put(clean_aws, "web-candidates", "1.5.0", "new")
    before = clean_aws.snapshot()
    with pytest.raises(CheckFailed, match=rf"tag is free: tag '1\.5\.0' in repository 'web' is immutable and already "
                                          rf"points at {old}, not {new}; promote to a new tag\.$"):
        make_ecr().promote("web-candidates:1.5.0", to="1.5.0")
    assert clean_aws.snapshot() == before
    make_ecr().promote(f"web@{old}", to="1.5.0")  # the same image again is fine, immutable or not


def test_promote_of_a_missing_source(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    put(clean_aws, "web", "1.0", "x")
    with pytest.raises(CheckFailed, match=r"source image exists: web:9\.9 is not in ECR \(Requested image not found\)"):
        make_ecr().promote("web:9.9", to="prod")
    with pytest.raises(CheckFailed, match=r"the source repository 'gone' does not exist"):
        make_ecr().promote("gone:1.0", to="prod")
    with pytest.raises(ActionError, match=r"'docker\.io/library/nginx:1' is not in ECR; promote copies between ECR"):
        make_ecr().promote("docker.io/library/nginx:1", to="prod")
    with pytest.raises(ActionError, match=r"'pro d' is not a valid image tag"):
        make_ecr().promote("web:1.0", to="pro d")


def test_promote_in_a_plan_writes_nothing(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    digest = put(clean_aws, "web", "1.0", "planned")
    before = clean_aws.snapshot()
    ecr = make_ecr(plan=True)
    ref = ecr.promote("web:1.0", to="prod")
    assert clean_aws.snapshot() == before
    assert (ref.digest, ref.planned, ref.reference) == (digest, True, f"{URI}/web@{digest}")
    assert ecr.ctx.checks.items[-1].result == "skipped"
    assert ecr.ctx.log.lines == [f"plan: would tag web:prod -> {digest} (from web:1.0)"]  # type: ignore[attr-defined]


# -- push() -------------------------------------------------------------------------------------------------


class FakeDockerEngine:
    """Stands in for the Docker engine's push: the push 'uploads' the image by PutImage into the emulator's ECR,
    as a registry would, and streams the events dockerd streams. Used until the embedded local AWS has a real
    registry behind repositoryUri; ``report`` makes it claim another digest than the one it uploaded."""

    def __init__(self, local: LocalAWS, report: str | None = None, error: str | None = None) -> None:
        self.local, self.report, self.error = local, report, error
        self.images, self.api = self, self
        self.auth: dict[str, str] | None = None
        self.tagged: list[tuple[str, str]] = []

    def get(self, name: str) -> Any:
        from docker.errors import ImageNotFound

        if name != "web:dev":
            raise ImageNotFound(f"No such image: {name}")
        engine = self

        class Image:
            id = "sha256:" + "c" * 64

            def tag(self, repository: str, tag: str) -> bool:
                engine.tagged.append((repository, tag))
                return True

        return Image()

    def push(self, repository: str, tag: str, stream: bool, decode: bool,
             auth_config: dict[str, str]) -> Iterator[dict[str, Any]]:
        self.auth = auth_config
        yield {"status": f"The push refers to repository [{repository}]"}
        if self.error:
            yield {"errorDetail": {"message": self.error}, "error": self.error}
            return
        yield {"status": "Preparing", "id": "5f70bf18a086"}
        yield {"status": "Pushed", "id": "5f70bf18a086"}
        digest = self.local.client("ecr").put_image(repositoryName=repository.rsplit("/", 1)[1],
                                                    imageManifest=manifest("pushed"), imageTag=tag)
        real = digest["image"]["imageId"]["imageDigest"]
        yield {"status": f"{tag}: digest: {real} size: 528"}
        yield {"aux": {"Tag": tag, "Digest": self.report or real, "Size": 528}, "progressDetail": {}}


def test_push_checks_the_digest_ecr_reports(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    clean_aws.client("ecr").create_repository(repositoryName="web")
    engine = FakeDockerEngine(clean_aws)
    ecr = make_ecr(image_tag="dev-42", docker_client=engine)
    ref = ecr.push("web:dev")
    assert ref.tag == "dev-42" and ref.digest == ecr.image().digest
    token = base64.b64decode(clean_aws.client("ecr").get_authorization_token()["authorizationData"][0]
                             ["authorizationToken"]).decode()
    assert engine.auth == {"username": "AWS", "password": token.split(":", 1)[1]}
    assert engine.tagged == [(f"{URI}/web", "dev-42")]
    printed = "\n".join(ecr.ctx.log.lines) + "\n".join(c.detail for c in ecr.ctx.checks.items)  # type: ignore[attr-defined]
    assert token.split(":", 1)[1] not in printed
    assert "  5f70bf18a086: Pushed" in ecr.ctx.log.lines  # type: ignore[attr-defined]
    assert ("ecr.push", "ECR has the pushed digest", "passed") in results(ecr)


def test_push_fails_when_ecr_reports_another_digest(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    clean_aws.client("ecr").create_repository(repositoryName="web")
    claimed = "sha256:" + "d" * 64
    with pytest.raises(CheckFailed, match=rf"ECR has the pushed digest: ECR reports sha256:[0-9a-f]{{64}} for "
                                          rf"web:dev-42, Docker pushed {claimed}"):
        make_ecr(docker_client=FakeDockerEngine(clean_aws, report=claimed)).push("web:dev", tag="dev-42")
    with pytest.raises(ActionError, match=r"docker push .*/web:dev-43 failed: denied: not authorized\.$"):
        make_ecr(docker_client=FakeDockerEngine(clean_aws, error="denied: not authorized")).push("web:dev", "dev-43")
    with pytest.raises(CheckFailed, match=r"local image exists: Docker has no image 'web:nope'\."):
        make_ecr(docker_client=FakeDockerEngine(clean_aws)).push("web:nope", tag="x")


def test_push_in_a_plan_writes_nothing(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr]) -> None:
    clean_aws.client("ecr").create_repository(repositoryName="web")
    engine = FakeDockerEngine(clean_aws)
    before = clean_aws.snapshot()
    ref = make_ecr(plan=True, docker_client=engine).push("web:dev", tag="dev-1")
    assert clean_aws.snapshot() == before and engine.auth is None and engine.tagged == []
    assert (ref.planned, ref.digest, ref.reference) == (True, None, f"{URI}/web:dev-1")


def test_push_without_a_docker_engine_says_so(clean_aws: LocalAWS, make_ecr: Callable[..., Ecr],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    clean_aws.client("ecr").create_repository(repositoryName="web")
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(ActionError, match=r"ecr\.push\(\) needs a Docker engine and none answers: "
                                          r"unix:///nonexistent/docker\.sock does not exist"):
        make_ecr().push("web:dev", tag="1")
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    with pytest.raises(ActionError, match=r"needs a Docker engine and none answers at tcp://127\.0\.0\.1:1"):
        make_ecr().push("web:dev", tag="1")
