"""ecr.py without AWS: image references, source parsing, severities, nearest tags and tag mutability; and the scan
gate's wait against a stubbed ECR client (botocore's Stubber) with faults raised in front of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from botocore.stub import Stubber
from fakes import FakeClock, Flaky, stubbed

from pytest_ecsdeploy.actions.ecr import (
    Ecr,
    ImageRef,
    _is_immutable,
    finding_id,
    nearest_tags,
    parse_source,
    severity_rank,
)
from pytest_ecsdeploy.config import Environment, Service
from pytest_ecsdeploy.context import PrintLog, RunOptions, ServiceContext
from pytest_ecsdeploy.errors import ActionError, CheckFailed
from pytest_ecsdeploy.report.record import ServiceRecord

URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web"
DIGEST = "sha256:" + "3f" * 32


def test_image_ref_is_pinned_by_digest() -> None:
    ref = ImageRef(repository_uri=URI, tag="1.4.2", digest=DIGEST, registry_id="123456789012", repository_name="web")
    assert str(ref) == ref.reference == f"{URI}@{DIGEST}"
    assert (ref.is_pinned, ref.name) == (True, "web:1.4.2")
    planned = ImageRef(repository_uri=URI, tag="dev", digest=None, planned=True, repository_name="web")
    assert (str(planned), planned.is_pinned) == (f"{URI}:dev", False)
    with pytest.raises(AttributeError):
        ref.tag = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "registry", "region", "repository", "tag", "digest"),
    [
        ("web:1.0", None, None, "web", "1.0", None),
        ("team/web:1.0", None, None, "team/web", "1.0", None),
        (f"web@{DIGEST}", None, None, "web", None, DIGEST),
        ("111122223333.dkr.ecr.eu-west-1.amazonaws.com/web:2", "111122223333", "eu-west-1", "web", "2", None),
        (f"111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com/a/b@{DIGEST}", "111122223333", "us-gov-west-1",
         "a/b", None, DIGEST),
        ("000000000000.dkr.ecr.us-east-1.localhost.localstack.cloud:4566/web:1", "000000000000", "us-east-1", "web",
         "1", None),
    ],
)
def test_parse_source(text: str, registry: str | None, region: str | None, repository: str, tag: str | None,
                      digest: str | None) -> None:
    source = parse_source(text)
    assert (source.registry_id, source.region, source.repository, source.tag, source.digest) == (
        registry, region, repository, tag, digest)


@pytest.mark.parametrize(("text", "message"), [
    ("web", r"'web' names no tag or digest; write 'repository:tag' or 'repository@sha256:…'\."),
    ("ghcr.io/org/web:1", r"'ghcr\.io/org/web:1' is not in ECR; promote copies between ECR repositories"),
])
def test_parse_source_errors(text: str, message: str) -> None:
    with pytest.raises(ActionError, match=message):
        parse_source(text)


def test_severity_order() -> None:
    ranks = [severity_rank(s) for s in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[1] > ranks[-1]
    assert severity_rank("critical") == severity_rank("CRITICAL")
    assert severity_rank("UNTRIAGED") == severity_rank("UNDEFINED") == severity_rank(None) == 0


def test_finding_ids_for_basic_and_enhanced_findings() -> None:
    assert finding_id({"name": "CVE-2024-1", "severity": "HIGH"}) == "CVE-2024-1"
    assert finding_id({"packageVulnerabilityDetails": {"vulnerabilityId": "CVE-2023-4863"}, "title": "t"}) == \
        "CVE-2023-4863"
    assert finding_id({"title": "Insecure setting", "findingArn": "arn:x"}) == "Insecure setting"
    assert finding_id({"findingArn": "arn:x"}) == "arn:x"


def test_nearest_tags_by_name_and_by_push_time() -> None:
    tags = {"1.4.2": 100.0, "1.4.3-rc1": 300.0, "2.0.0": 200.0, "latest": 300.0, "nightly": 50.0}
    assert nearest_tags("1.4.3", tags) == ("nearest tags: 1.4.2, 1.4.3-rc1; most recently pushed: "
                                           "1.4.3-rc1, latest, 2.0.0")
    assert nearest_tags("zzz", tags) == "most recently pushed: 1.4.3-rc1, latest, 2.0.0"
    assert nearest_tags("1.0", {}) == "the repository holds no tagged images"


@pytest.mark.parametrize(
    ("mutability", "filters", "tag", "immutable"),
    [
        ("MUTABLE", [], "1.0", False),
        ("IMMUTABLE", [], "1.0", True),
        ("IMMUTABLE_WITH_EXCLUSION", ["latest", "dev-*"], "dev-42", False),
        ("IMMUTABLE_WITH_EXCLUSION", ["latest", "dev-*"], "1.0", True),
        ("MUTABLE_WITH_EXCLUSION", ["release-*"], "release-1", True),
        ("MUTABLE_WITH_EXCLUSION", ["release-*"], "dev", False),
        (None, [], "1.0", False),
    ],
)
def test_tag_mutability_with_exclusion_filters(mutability: str | None, filters: list[str], tag: str,
                                               immutable: bool) -> None:
    repository: dict[str, Any] = {"imageTagMutability": mutability,
                                  "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": f}
                                                                         for f in filters]}
    assert _is_immutable(repository, tag) is immutable


# -- the scan gate's wait ------------------------------------------------------------------------------------

REGISTRY = "111122223333"
REPOSITORY = {"repositoryName": "web", "registryId": REGISTRY,
              "repositoryUri": f"{REGISTRY}.dkr.ecr.eu-west-1.amazonaws.com/web",
              "repositoryArn": f"arn:aws:ecr:eu-west-1:{REGISTRY}:repository/web"}
SCAN_ASKED = {"registryId": REGISTRY, "repositoryName": "web", "imageId": {"imageDigest": DIGEST}}
ENDPOINT = "https://api.ecr.eu-west-1.amazonaws.com/"


class FakeAws:
    def __init__(self, ecr: Any, faults: dict[str, list[BaseException | None]]) -> None:
        self.ecr = Flaky(ecr, faults)

    def client(self, name: str, region: str | None = None) -> Any:
        assert (name, region) == ("ecr", None)
        return self.ecr


@pytest.fixture
def ecr_stub() -> Iterator[tuple[Any, Stubber]]:
    with stubbed("ecr") as pair:
        yield pair


def make_ecr(client: Any, faults: dict[str, list[BaseException | None]], clock: FakeClock) -> Ecr:
    ctx = ServiceContext(
        environment=Environment(name="prod", backend="aws", cluster="prod", region="eu-west-1"),
        service=Service(name="web", service_name="web", repository="web"),
        aws=FakeAws(client, faults),  # type: ignore[arg-type]
        options=RunOptions(),
        record=ServiceRecord(service="web", environment="prod", cluster="prod"),
        log=PrintLog(),
    )
    return Ecr(ctx, sleep=clock.sleep, clock=clock)


def to_the_scan(stubber: Stubber) -> None:
    stubber.add_response("describe_repositories", {"repositories": [REPOSITORY]}, {"repositoryNames": ["web"]})
    stubber.add_response("describe_images", {"imageDetails": [{"imageDigest": DIGEST, "imageTags": ["1.0"]}]},
                         {"registryId": REGISTRY, "repositoryName": "web", "imageIds": [{"imageTag": "1.0"}]})


def scan(status: str, *findings: dict[str, str]) -> dict[str, Any]:
    return {"registryId": REGISTRY, "repositoryName": "web", "imageId": {"imageDigest": DIGEST},
            "imageScanStatus": {"status": status, "description": ""},
            "imageScanFindings": {"findings": list(findings)}}


def scan_error(code: str, message: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "DescribeImageScanFindings")


#: One of each kind the scan wait outlasts, with how the warning names it.
SCAN_FAULTS = {
    "throttled": (scan_error("ThrottlingException", "Rate exceeded", 400), "ThrottlingException: Rate exceeded"),
    "connection-reset": (ConnectionClosedError(endpoint_url=ENDPOINT),
                         f'Connection was closed before we received a valid response from endpoint URL: "{ENDPOINT}"'),
    "server-error": (scan_error("InternalServerError", "Internal error", 500), "InternalServerError: Internal error"),
}


@pytest.mark.parametrize("fault", SCAN_FAULTS, ids=list(SCAN_FAULTS))
def test_a_transient_error_while_waiting_for_a_scan_is_outlasted(ecr_stub: tuple[Any, Stubber], fault: str) -> None:
    client, stubber = ecr_stub
    to_the_scan(stubber)
    stubber.add_response("describe_image_scan_findings", scan("IN_PROGRESS"), SCAN_ASKED)
    stubber.add_response("describe_image_scan_findings", scan("COMPLETE", {"name": "CVE-1", "severity": "LOW"}),
                         SCAN_ASKED)
    error, detail = SCAN_FAULTS[fault]
    # in progress, a streak of two failed looks, then the finished scan
    faults: dict[str, list[BaseException | None]] = {"describe_image_scan_findings": [None, error, error, None]}
    clock = FakeClock()
    ecr = make_ecr(client, faults, clock)

    ref = ecr.image("1.0")

    assert ref.digest == DIGEST and faults["describe_image_scan_findings"] == []
    assert clock.sleeps == [5.0, 5.0, 5.0]
    warning = (f"WARNING: ecr: could not read the scan findings of web:1.0 (DescribeImageScanFindings: {detail}); "
               f"trying again")
    assert [line for line in ecr.ctx.log.lines if line.startswith("WARNING")] == [warning]  # type: ignore[attr-defined]
    last = ecr.ctx.checks.items[-1]
    assert (last.name, last.result) == ("scan findings", "passed") and last.detail.endswith("(found: LOW 1)")


def test_a_scan_that_cannot_be_read_until_the_timeout_fails_the_gate(ecr_stub: tuple[Any, Stubber]) -> None:
    client, stubber = ecr_stub
    to_the_scan(stubber)
    throttled = SCAN_FAULTS["throttled"][0]
    clock = FakeClock()
    ecr = make_ecr(client, {"describe_image_scan_findings": [throttled] * 13}, clock)
    ecr.scan_timeout_seconds = 60

    with pytest.raises(CheckFailed, match=r"scan findings: the scan of web:1\.0 \(sha256:3f3f.*…\) could not be read "
                                          r"within 60 s\.$"):
        ecr.image("1.0")

    assert len(clock.sleeps) == 12


def test_an_error_that_waiting_cannot_cure_ends_the_scan_wait(ecr_stub: tuple[Any, Stubber]) -> None:
    client, stubber = ecr_stub
    to_the_scan(stubber)
    denied = scan_error("AccessDeniedException", "not authorized to perform: ecr:DescribeImageScanFindings", 400)
    ecr = make_ecr(client, {"describe_image_scan_findings": [denied]}, FakeClock())

    with pytest.raises(ActionError, match=r"^ecr: could not read the scan findings of web:1\.0 "
                                          r"\(DescribeImageScanFindings: AccessDeniedException: "):
        ecr.image("1.0")
