"""What LocalAWS's reset() and stop() leave of moto's process-global state: reset drops moto's backends without
building them again (they come back, default VPC and all, at their first use) and keeps none of the dropped ones
alive; stop() leaves moto empty; the emulator's boto3 sessions share one botocore loader."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_ecsdeploy.emulator import LocalAWS, moto_state

SEED = {"clusters": ["local"], "repositories": {"web": {"tags": ["1.0.0"]}}}


@pytest.fixture(scope="module", autouse=True)
def _not_the_first_start() -> None:
    """The first start in a process freezes what it holds for good (LocalAWS._freeze_once): these tests are about
    every later one, whichever test of the process comes first."""
    with LocalAWS(seed=SEED) as first:
        first.client("ec2").describe_vpcs()


@pytest.fixture
def aws() -> Iterator[LocalAWS]:
    with LocalAWS(seed=SEED) as local:
        yield local


def _existing_backends() -> list[tuple[str, str]]:
    """(service, account/region) of every moto backend that exists now."""
    from moto.core.base_backend import BackendDict, backend_lock

    with backend_lock:
        return sorted((d.service_name, f"{account}/{region}") for d in BackendDict._instances
                      for account, regions in dict.items(d) for region in dict.keys(regions))


def _ec2_backend(aws: LocalAWS) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[aws.account_id][aws.region]


def test_reset_drops_moto_backends_which_come_back_whole_at_their_first_use(aws: LocalAWS) -> None:
    ec2 = aws.client("ec2")
    [default_vpc] = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    ec2.create_vpc(CidrBlock="10.9.0.0/16")
    assert ("ec2", f"{aws.account_id}/{aws.region}") in _existing_backends()

    aws.reset(seed=False)

    assert _existing_backends() == []  # none built again for nothing
    vpcs = ec2.describe_vpcs()["Vpcs"]
    assert [v["CidrBlock"] for v in vpcs] == [default_vpc["CidrBlock"]]  # EC2's default VPC, and no other
    assert vpcs[0]["IsDefault"] is True
    assert aws.client("ecs").list_clusters()["clusterArns"] == []


def test_reset_applies_the_seed_again_on_a_state_as_new(aws: LocalAWS) -> None:
    ecs = aws.client("ecs")
    ecs.create_cluster(clusterName="other")
    aws.client("ecr").create_repository(repositoryName="other")

    aws.reset()
    aws.reset()  # the second through the clients the first made

    after = aws.snapshot()
    assert sorted(after["ecs"]["clusters"][aws.account_id][aws.region]) == ["local"]
    assert _tags(after) == {"web": ["1.0.0"]}


def _tags(snapshot: dict[str, Any]) -> dict[str, list[str]]:
    repositories = snapshot["ecr"]["123456789012"]["us-east-1"]
    return {name: [tag for image in repo["images"] for tag in image["imageTags"]]
            for name, repo in repositories.items()}


def test_a_reset_keeps_no_dropped_ec2_backend_alive(aws: LocalAWS) -> None:
    ec2 = aws.client("ec2")
    # An instance takes its address from its subnet's address iterator, which moto caches per subnet.
    ec2.run_instances(ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=1, MaxCount=1)
    dropped = weakref.ref(_ec2_backend(aws))

    aws.reset()
    ec2.describe_vpcs()  # EC2 built again: the new backend is another one
    gc.collect()

    assert dropped() is None


def test_stop_leaves_moto_empty_for_the_next_user() -> None:
    with LocalAWS(seed=SEED) as aws:
        aws.client("ec2").describe_vpcs()
        dropped = weakref.ref(_ec2_backend(aws))
    gc.collect()

    assert _existing_backends() == []
    assert dropped() is None
    with LocalAWS() as again:
        assert again.client("ecs").list_clusters()["clusterArns"] == []
        assert again.client("ecr").describe_repositories()["repositories"] == []


def test_stop_of_a_local_aws_that_did_not_start_leaves_the_running_ones_state(aws: LocalAWS) -> None:
    other = LocalAWS()
    with pytest.raises(RuntimeError, match="another LocalAWS is already running"):
        other.start()

    assert aws.client("ecs").list_clusters()["clusterArns"] != []  # the failed start's stop() reset nothing


def test_the_emulators_sessions_share_one_botocore_loader(aws: LocalAWS) -> None:
    loader = moto_state.shared_loader()
    paths = list(loader.search_paths)
    clients = [aws.client("ecs"), aws.client("ec2"), moto_state.boto3_session().client("sts")]

    assert all(client._loader is loader for client in clients)
    assert loader.search_paths == paths  # each boto3 session adds boto3's data directory: only once


# What the first start in a process does is a property of the process: a fresh one, shared by the tests below.
FRESH_PROCESS = textwrap.dedent('''
    import collections, gc, json, sys
    import botocore.loaders
    from pytest_ecsdeploy.emulator import LocalAWS

    reads = collections.Counter()
    real = botocore.loaders.JSONFileLoader.load_file
    def counted(self, path):
        reads[path.rsplit("/data/", 1)[-1]] += 1
        return real(self, path)
    botocore.loaders.JSONFileLoader.load_file = counted
    result = {"frozen before": gc.get_freeze_count()}
    seed = {"services": {"web": {"task_definition": "taskdef.json"}}}  # awsvpc: its subnets are EC2's
    with LocalAWS(seed=seed, base_dir=sys.argv[1]) as aws:
        result["frozen after the first start"] = gc.get_freeze_count()
        aws.client("ec2").describe_vpcs()
    result["model reads"] = {"ec2": reads["ec2/2016-11-15/service-2"], "endpoints": reads["endpoints"]}
    with LocalAWS(seed={"clusters": ["local"]}):
        result["frozen after the second"] = gc.get_freeze_count()
    print(json.dumps(result))
''')


@pytest.fixture(scope="module")
def fresh_process(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What :data:`FRESH_PROCESS` saw: two LocalAWS, one after the other, the first seeded with an awsvpc service."""
    base = tmp_path_factory.mktemp("seed")
    (base / "taskdef.json").write_text(json.dumps({
        "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
        "memory": "512", "containerDefinitions": [{"name": "app", "image": "web:1.0.0", "essential": True}]}))
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(base)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_first_start_in_a_process_freezes_what_it_holds(fresh_process: dict[str, Any]) -> None:
    assert fresh_process["frozen before"] == 0
    assert fresh_process["frozen after the first start"] > 0
    # the second freezes nothing more (the count only falls, as frozen objects freed by reference counting leave)
    assert fresh_process["frozen after the second"] <= fresh_process["frozen after the first start"]


def test_a_seeded_start_reads_ec2s_model_once_for_boto3_and_once_for_moto(fresh_process: dict[str, Any]) -> None:
    # moto's own loader reads the model apart, merging moto's extras into it; the endpoints, only botocore's
    assert fresh_process["model reads"] == {"ec2": 2, "endpoints": 1}
