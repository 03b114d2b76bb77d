"""ecr.py without AWS: image references, source parsing, severities, nearest tags and tag mutability."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_ecsdeploy.actions.ecr import ImageRef, _is_immutable, finding_id, nearest_tags, parse_source, severity_rank
from pytest_ecsdeploy.errors import ActionError

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
