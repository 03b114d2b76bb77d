"""The embedded local AWS imports moto's EC2 models at their first use, not to answer ECS: each case in a fresh
interpreter, since whether moto's EC2 is imported is a property of the process."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import json, sys
    import boto3
    from botocore.exceptions import ClientError
    from pytest_ecsdeploy.emulator import LocalAWS

    first = sys.argv[1]
    made = []
    real_init = boto3.session.Session.__init__
    def counted(self, *args, **kwargs):
        made.append(1)
        real_init(self, *args, **kwargs)
    result = {}
    with LocalAWS() as aws:
        ecs, ec2 = aws.client("ecs"), aws.client("ec2")
        ecs.create_cluster(clusterName="local")
        result["ec2 imported to answer ECS"] = "moto.ec2.models" in sys.modules
        boto3.session.Session.__init__ = counted
        if first == "ec2-request":
            ec2.describe_vpcs()
        else:  # a refusal that reads EC2's subnets through the rollout engine
            ecs.register_task_definition(family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                         cpu="256", memory="512",
                                         containerDefinitions=[{"name": "app", "image": "busybox"}])
            try:
                ecs.run_task(cluster="local", taskDefinition="web", launchType="FARGATE",
                             networkConfiguration={"awsvpcConfiguration": {"subnets": ["subnet-0000000a"]}})
            except ClientError as exc:
                result["refused"] = exc.response["Error"]["Message"]
        boto3.session.Session.__init__ = real_init
        result["sessions made by the import"] = len(made)
        # moto's own ECS models read EC2's instance through the backends they bound at import
        [instance] = ec2.run_instances(ImageId="ami-12c6146b", InstanceType="t3.micro", MinCount=1,
                                            MaxCount=1)["Instances"]
        document = json.dumps({"instanceId": instance["InstanceId"]})
        registered = ecs.register_container_instance(cluster="local", instanceIdentityDocument=document)
        attributes = {a["name"]: a.get("value") for a in registered["containerInstance"]["attributes"]}
        result["instance type"] = attributes.get("ecs.instance-type")
        result["instance"] = registered["containerInstance"]["ec2InstanceId"] == instance["InstanceId"]
    print(json.dumps(result))
''')


@pytest.mark.parametrize("first", ["ec2-request", "engine"])
def test_ecs_answers_without_moto_ec2_which_comes_whole_at_its_first_use(first: str) -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, first], capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result.pop("ec2 imported to answer ECS") is False
    # moto's EC2 region tables list regions with one boto3 Session, not three
    assert result.pop("sessions made by the import") == 1
    assert result.pop("refused", None) == (None if first == "ec2-request" else (
        "Error retrieving subnet information for [subnet-0000000a]: The subnet ID 'subnet-0000000a' does not "
        "exist (ErrorCode: InvalidSubnetID.NotFound)"))
    assert result == {"instance type": "t3.micro", "instance": True}
