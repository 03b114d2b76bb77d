"""The embedded local AWS: moto's server plus an ECS rollout engine (``LocalAWS``, ``ecsdeploy-emulator``).

Importing this package is cheap: moto, Flask and werkzeug are imported when a ``LocalAWS`` starts.

Example::

    from pytest_ecsdeploy.emulator import LocalAWS

    with LocalAWS() as aws:
        aws.client("sts").get_caller_identity()["Account"]   # '123456789012'
"""

from __future__ import annotations

from .local_aws import LocalAWS

__all__ = ["LocalAWS"]
