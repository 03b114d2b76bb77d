"""pytest-xdist, safe by construction: a scenario runs whole on one worker, and the workers share one local AWS.

Registered by the plugin on the pytest-xdist controller when ``--env`` is given (:class:`XdistController`):

- **one worker per scenario, in file order.** Whatever ``--dist`` was chosen (``load``, ``loadscope``,
  ``loadfile``, ``loadgroup``, ``worksteal``; ``-n`` alone means ``load``), the controller hands out whole test
  files (pytest-xdist's own LoadFileScheduling), so every step of a scenario runs on the worker that ran its
  first step, in the order the session object gave them. ``load`` and ``worksteal`` would send the steps of one
  scenario to different workers, ``loadscope`` would split a scenario's classes, ``loadgroup`` would split
  whatever has no ``xdist_group`` mark. The other test files of the run are handed out by file too.
  ``--dist each`` (every test on every worker: each service deployed once per worker) is refused at start with a
  usage error (:func:`check_dist`).
- **one embedded local AWS.** For an ``emulator`` environment without ``endpoint_url`` the controller starts
  the local AWS before the workers start (``pytest_xdist_setupnodes``) and hands its endpoint to each worker
  (``workerinput["ecsdeploy_local_endpoint"]``, read by the session object of the worker), so its fixed
  load-balancer ports are bound once and every worker sees one state.

How the workers' service records reach the controller's record, summary and Octopus output is the session
object's part (``session.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .errors import EcsDeployError

if TYPE_CHECKING:
    from .run import Run

LOCAL_ENDPOINT = "ecsdeploy_local_endpoint"  # key in pytest-xdist's workerinput


def check_dist(config: pytest.Config) -> None:
    """A pytest.UsageError for a ``--dist`` mode that cannot keep each scenario whole and deployed once."""
    if getattr(config.option, "dist", "no") == "each" and not hasattr(config, "workerinput"):
        raise pytest.UsageError(
            "--dist each runs every test on every worker, so each service would be deployed once per worker; "
            "use -n N with --dist load, loadscope, loadfile, loadgroup or worksteal (each scenario runs whole on "
            "one worker)."
        )


def worker_endpoint(config: pytest.Config) -> str | None:
    """On a pytest-xdist worker, the endpoint of the local AWS its controller started; else None."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput.get(LOCAL_ENDPOINT) if isinstance(workerinput, dict) else None


class XdistController:
    """The pytest-xdist hooks of the controller (see the module docstring); ``run`` is the controller's run."""

    def __init__(self, run: Run) -> None:
        self.run = run

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        from xdist.scheduler import LoadFileScheduling

        return LoadFileScheduling(config, log)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_setupnodes(self, config: pytest.Config, specs: Any) -> None:
        if self.run.uses_local_aws:
            try:
                self.run.aws()  # starts the local AWS here, once, before any worker asks for it
            except EcsDeployError as exc:
                raise pytest.UsageError(str(exc)) from None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        local = self.run.local_aws
        if local is not None:
            node.workerinput[LOCAL_ENDPOINT] = local.endpoint_url
