"""The plugin tests' ``project``: an ecsdeploy.toml with local, ci (an endpoint nothing listens on) and prod
environments, services web and api, the three-step scenario test_web.py and a plain test module beside it.

A test module that needs another project defines its own ``project`` fixture, which overrides this one.
"""

from __future__ import annotations

import pytest

CONFIG = """
[defaults]
region = "eu-west-1"

[environments.local]
backend = "emulator"
cluster = "local"

[environments.ci]
backend = "emulator"
cluster = "ci"
endpoint_url = "http://127.0.0.1:9"

[environments.prod]
backend = "aws"
cluster = "prod"
account_id = "111122223333"

[services.web]
repository = "web"

[services.api]
repository = "api"
"""

SCENARIO = """
import pytest

pytestmark = pytest.mark.ecs_service("web")

def test_first(deploy_env):
    assert deploy_env.name

def test_second(deploy_env):
    assert True

def test_third(deploy_env):
    pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.mkdir("deployments")
    pytester.path.joinpath("deployments", "ecsdeploy.toml").write_text(CONFIG)
    pytester.path.joinpath("deployments", "test_web.py").write_text(SCENARIO)
    pytester.path.joinpath("deployments", "test_unrelated.py").write_text("def test_plain():\n    pass\n")
    return pytester
