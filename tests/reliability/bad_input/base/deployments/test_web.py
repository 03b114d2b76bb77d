"""Roll out web in one step."""

import pytest

pytestmark = pytest.mark.ecs_service("web")


def test_deploy(deploy):
    deploy()
