"""Octopus Deploy output: service messages in Calamari's exact format, and what a run reports through them.

Octopus reads lines of the form ``##octopus[name attr='b64' ...]`` from a script step's standard output
(Octopus's "Service messages" documentation; Calamari's ServiceMessageParser is the reference parser). The
format, as that parser reads it: the literal ``##octopus`` (case-sensitive), then
everything up to the first ``]``, parsed as the XML element ``<name attr='...'/>``; every attribute value is
Base64 of UTF-8, attribute names are matched ignoring case, and a value that does not decode drops the whole
message. Base64 never contains ``]`` or a quote, so any value is safe inside the brackets.

Three layers, none of which knows pytest:

- :func:`service_message` formats one message;
- :class:`ServiceMessages` writes the messages the script helpers write (``set_octopusvariable``,
  ``createartifact``, ``updateprogress``, ``failstep``'s ``resultMessage``, the log-level switches, ``mask``),
  one per line, through a ``write`` callable the caller points at the real standard output;
- :class:`OctopusReporter` is what the run's session object (``session.py``) calls as each service finishes
  and when the run ends; the session builds it only when the run reports to Octopus (``--octopus``, or
  :func:`octopus_signal` finds an Octopus step's environment) and never on a pytest-xdist worker.

Choices this module makes (``docs/octopus.md`` relies on them):

- **An empty value is written as** ``value=''``, as Calamari's Python helper does (Base64 of "" is ""), rather than
  leaving the attribute out as its bash helper does: the variable then exists and is empty, so a later step's
  ``#{Octopus.Action[deploy].Output.EcsDeploy.web.PreviousTaskDefinitionArn}`` resolves to "" instead of
  staying an unresolved ``#{...}`` expression.
- **Nothing the reporter writes is secret**: task-definition ARNs, image digests and outcomes are not, so they
  are written without the sensitive flag, and no environment value, secret, header or URL of a service is
  written at all. ``set_variable(..., sensitive=True)`` and ``mask()`` exist for hooks that need them.
- **Plain text is defused and masked**: a line of text written through :meth:`ServiceMessages.warning` and the
  other level helpers goes through ``redact.clean_line``: its secrets are masked, it never contains ``##octopus``
  (it is written ``# #octopus``), never breaks into a second line and never ends in ``#`` (a space is added;
  Calamari's parser carries a trailing ``#`` over into the next line and would miss the message written there),
  so an ECS event, an HTTP body, an image tag or a test name cannot forge a service message. The text of a
  progress or result message and every value of an output variable that is not sensitive are masked too, as
  Octopus shows them decoded.
"""

from __future__ import annotations

import base64
import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from ..arns import parse_image, short_revision
from ..redact import clean_line, mask
from .record import RunRecord, ServiceRecord

__all__ = [
    "CALAMARI_VARIABLE",
    "OctopusReporter",
    "ServiceMessages",
    "TENTACLE_VARIABLES",
    "VARIABLE_PREFIX",
    "image_digest",
    "octopus_deployment_id",
    "octopus_signal",
    "service_message",
]

LABEL = "##octopus"
CALAMARI_VARIABLE = "OctopusCalamariWorkingDirectory"
# Set by Tentacle for every script it runs (OctopusTentacle EnvironmentVariablesForScripts); secondary signals
# for a script that runs under Tentacle without Calamari. AgentProgramDirectoryPath is left out: its name is
# too generic to prove anything on its own.
TENTACLE_VARIABLES = (
    "TentacleHome",
    "TentacleInstanceName",
    "TentacleVersion",
    "TentacleExecutablePath",
    "TentacleProgramDirectoryPath",
    "TentacleApplications",
    "TentacleJournal",
    "CalamariPackageRetentionJournalPath",
)
VARIABLE_PREFIX = "EcsDeploy"
SENSITIVE_TRUE = "True"  # Calamari writes sensitive='VHJ1ZQ==', Base64 of "True"
RESULT_MESSAGE_LIMIT = 1000  # characters; the text Octopus shows as the step's failure reason

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


def octopus_signal(environ: Mapping[str, str]) -> str | None:
    """The name of the environment variable that shows this process runs under Octopus, else None.

    ``OctopusCalamariWorkingDirectory`` (Calamari sets it at startup) is the primary signal; the variables
    Tentacle sets for the scripts it runs (:data:`TENTACLE_VARIABLES`) are secondary ones, for a step that
    runs under Tentacle without Calamari. Names are compared ignoring case (Windows environments do) and an
    empty value counts as unset.

    >>> octopus_signal({"OctopusCalamariWorkingDirectory": "/etc/octopus/Work/20260821-1"})
    'OctopusCalamariWorkingDirectory'
    """
    present = {key.lower(): key for key, value in environ.items() if value}
    for name in (CALAMARI_VARIABLE, *TENTACLE_VARIABLES):
        if name.lower() in present:
            return present[name.lower()]
    return None


#: Where a run finds the Octopus deployment it belongs to: Octopus hands its variables to a script, not to the
#: process environment, so the step passes it on (``OCTOPUS_DEPLOYMENT_ID="#{Octopus.Deployment.Id}"``,
#: docs/octopus.md); a variable named like the Octopus one is read too.
DEPLOYMENT_ID_VARIABLES = ("OCTOPUS_DEPLOYMENT_ID", "Octopus.Deployment.Id")


def octopus_deployment_id(environ: Mapping[str, str]) -> str | None:
    """The Octopus deployment id (``Deployments-123``) from :data:`DEPLOYMENT_ID_VARIABLES`, names compared
    ignoring case; None when none is set (or the value is still an unresolved ``#{...}``)."""
    present = {key.lower(): value for key, value in environ.items() if value}
    for name in DEPLOYMENT_ID_VARIABLES:
        value = present.get(name.lower(), "").strip()
        if value and not value.startswith("#{"):
            return value
    return None


def _b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8")).decode("ascii")


def service_message(name: str, /, **attributes: str) -> str:
    """One service message, as Calamari's script helpers write it: ``##octopus[name attr='b64' ...]``.

    Every value is Base64 of its UTF-8 bytes, without line wrapping, in single quotes, in the order given.

    >>> service_message("setVariable", name="TestA", value="World!")
    "##octopus[setVariable name='VGVzdEE=' value='V29ybGQh']"
    >>> service_message("stdout-verbose")
    '##octopus[stdout-verbose]'
    """
    if not _NAME.match(name):
        raise ValueError(f"'{name}' is not a service message name (an XML name: letters, digits, '_', '-', '.').")
    parts = [name]
    for key, value in attributes.items():
        if not isinstance(value, str):
            kind = type(value).__name__
            raise TypeError(f"service message '{name}': attribute '{key}' must be a string, got {kind}.")
        parts.append(f"{key}='{_b64(value)}'")
    return f"{LABEL}[{' '.join(parts)}]"


def _plain(line: str) -> str:
    """A line of text that no Octopus parser reads as (part of) a service message, its secrets masked."""
    return clean_line(line)


class ServiceMessages:
    """Writes Octopus service messages, one per line, through ``write`` (called once per line, no newline).

    The methods mirror Calamari's Python and bash helpers, byte for byte.

    Example::

        messages = ServiceMessages(print)
        messages.set_variable("TestA", "World!")
        # ##octopus[setVariable name='VGVzdEE=' value='V29ybGQh']
        messages.progress(50, "Half Way")
        # ##octopus[progress percentage='NTA=' message='SGFsZiBXYXk=']

    ``write_stderr``, when given, also receives :meth:`mask` messages (Calamari's bootstrap writes a mask to
    both streams). Lines of one call are never interleaved with another thread's.
    """

    def __init__(self, write: Callable[[str], None], write_stderr: Callable[[str], None] | None = None) -> None:
        self._write = write
        self._write_stderr = write_stderr
        self._lock = threading.Lock()

    def _emit(self, *lines: str) -> None:
        with self._lock:
            for line in lines:
                self._write(line)

    def set_variable(self, name: str, value: str, sensitive: bool = False) -> None:
        """An output variable, read in later steps as ``Octopus.Action[<step>].Output.<name>``.

        An empty ``value`` is written as ``value=''`` (the Python helper's form), so the variable exists and is
        empty. ``sensitive=True`` appends ``sensitive='VHJ1ZQ=='`` and Octopus masks the value in its logs; any
        other value is written with its secrets masked (``redact.mask``), as Octopus shows it decoded.
        """
        if not name:
            raise ValueError("an output variable needs a name.")
        if sensitive:
            self._emit(service_message("setVariable", name=name, value=value, sensitive=SENSITIVE_TRUE))
        else:
            self._emit(service_message("setVariable", name=name, value=mask(value)))

    def create_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        """Announce a file that Octopus collects as an artifact when the step completes.

        ``path`` is made absolute; ``name`` defaults to the file's name; ``length`` is the file's size in bytes
        now, or ``0`` when it does not exist yet (as the Python helper does: Octopus collects the file after
        the step, so it may still be written).
        """
        absolute = os.path.abspath(os.fspath(path))
        file_name = name if name is not None else os.path.basename(absolute)
        length = os.stat(absolute).st_size if os.path.isfile(absolute) else 0
        self._emit(
            service_message("stdout-verbose"),
            _plain(f"Artifact {file_name} will be collected from {absolute} after this step completes"),
            service_message("stdout-default"),
            service_message("createArtifact", path=absolute, name=file_name, length=str(length)),
        )

    def progress(self, percentage: int, message: str) -> None:
        """The step's progress bar: ``percentage`` from 0 to 100 and the text shown with it."""
        if isinstance(percentage, bool) or not isinstance(percentage, int) or not 0 <= percentage <= 100:
            raise ValueError(f"progress percentage must be an integer from 0 to 100, got {percentage!r}.")
        self._emit(service_message("progress", percentage=str(percentage), message=clean_line(message)))

    def result_message(self, message: str) -> None:
        """The text Octopus shows as the step's result (``failstep``'s message) instead of "exit code N"."""
        self._emit(service_message("resultMessage", message=clean_line(message)))

    def _level(self, level: str, text: str) -> None:
        lines = [_plain(line) for line in text.splitlines()] or [""]
        self._emit(service_message(f"stdout-{level}"), *lines, service_message("stdout-default"))

    def warning(self, text: str) -> None:
        """``text`` at Octopus's warning level (``##octopus[stdout-warning]`` … ``##octopus[stdout-default]``)."""
        self._level("warning", text)

    def verbose(self, text: str) -> None:
        """``text`` at the verbose level, hidden in the task log unless verbose output is shown."""
        self._level("verbose", text)

    def highlight(self, text: str) -> None:
        """``text`` at the highlight level, shown in the task summary."""
        self._level("highlight", text)

    def mask(self, value: str) -> None:
        """Ask Octopus to mask ``value`` wherever it appears later in the task log; an empty value is ignored."""
        if not value:
            return
        line = service_message("mask", value=value)
        self._emit(line)
        if self._write_stderr is not None:
            with self._lock:
                self._write_stderr(line)


def image_digest(image: str | None) -> str:
    """The digest of an image reference (``sha256:…``, what follows its ``@``), or "" when it names none."""
    return (parse_image(image).digest or "") if image else ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _failure_reason(record: ServiceRecord) -> str:
    if record.reason:
        return _one_line(record.reason)
    failed = [c for c in record.checks.items if c.result == "failed"]
    if failed:
        return _one_line(f"{failed[-1].action}: {failed[-1].name} — {failed[-1].detail}")
    return "no reason was recorded"


#: Log lines of failed tasks a result message carries: the last ones each container wrote, different ones only.
RESULT_LOG_LINES = 3


def _logged(record: ServiceRecord) -> str:
    """`` (app logged: FATAL: ORDERS_QUEUE_URL is not set)``: the last line each failed task's container wrote
    (masked in the record already), at most :data:`RESULT_LOG_LINES` different ones; "" when none was read."""
    seen: dict[str, str] = {}
    for task in record.failed_tasks:
        for container in task.get("containers") or []:
            lines = container.get("lines") or []
            last = _one_line(str(lines[-1])) if lines else ""
            if last and last not in seen and len(seen) < RESULT_LOG_LINES:
                seen[last] = str(container.get("container"))
    return f" ({'; '.join(f'{name} logged: {line}' for line, name in seen.items())})" if seen else ""


def _failure(record: ServiceRecord) -> str:
    reason = _failure_reason(record) + _logged(record)
    if record.outcome == "rolled back" and record.rollback is not None:
        to = short_revision(record.rollback.to_revision, "the previous revision")
        return f"{record.service} was rolled back to {to}: {reason}"
    if record.outcome == "rollback failed":
        rollback = record.rollback.reason if record.rollback and record.rollback.reason else "no reason recorded"
        return f"{record.service} failed and its rollback failed too ({_one_line(rollback)}): {reason}"
    if record.outcome == "failed":
        return f"{record.service} failed: {reason}"
    if record.outcome == "cancelled":
        undo = record.rollback
        if undo is None:
            return f"{record.service} was cancelled: {reason}"
        to = short_revision(undo.to_revision, "the previous revision")
        if undo.outcome == "completed":
            return f"{record.service} was cancelled and rolled back to {to}: {reason}"
        return (f"{record.service} was cancelled and its rollback to {to} did not complete ({undo.outcome}): "
                f"{reason}")
    if record.outcome == "refused":
        return f"{record.service} was not deployed: {reason}"
    return f"{record.service} did not finish: {reason}"


class OctopusReporter:
    """What a run reports to Octopus; the session object calls it, :class:`ServiceMessages` writes it.

    Example::

        reporter = OctopusReporter(ServiceMessages(write_line))
        reporter.service_finished(run.services["web"], done=1, total=2)
        reporter.run_finished(run, report_path=Path("ecsdeploy-report.json"), junit_path=None, failed=False)

    Per service, six output variables (never sensitive: ARNs, digests and outcomes are not secret; an
    unknown value is written as "" so the variable resolves to an empty string in later steps):

    - ``EcsDeploy.<service>.TaskDefinitionArn``: the revision this run deployed (``revision_after``); when
      the service was rolled back it is still the revision that was tried, and ``Outcome`` says it is not live;
    - ``EcsDeploy.<service>.PreviousTaskDefinitionArn``: the revision the service ran before (``revision_before``);
    - ``EcsDeploy.<service>.ImageDigest``: the ``sha256:`` digest of ``image_after``;
    - ``EcsDeploy.<service>.Outcome``: ``deployed``, ``unchanged``, ``planned``, ``failed``, ``rolled back`` …;
    - ``EcsDeploy.<service>.DeploymentId``: the deployment this run started or followed (an ECS deployment id,
      ``ecs-svc/…``, or a CodeDeploy deployment id, ``d-…``, for a CODE_DEPLOY service);
    - ``EcsDeploy.<service>.ServiceDeploymentArn``: the service deployment of a BLUE_GREEN, LINEAR or CANARY
      service.

    :meth:`stage` moves the progress bar through the lifecycle stages of such a service deployment, and through
    the lifecycle events of a CodeDeploy deployment of a CODE_DEPLOY service.
    """

    def __init__(self, messages: ServiceMessages) -> None:
        self.messages = messages

    def service_finished(self, record: ServiceRecord, done: int, total: int) -> None:
        """Output variables for ``record`` and a progress message: ``done`` of ``total`` services finished."""
        prefix = f"{VARIABLE_PREFIX}.{record.service}"
        self.messages.set_variable(f"{prefix}.TaskDefinitionArn", record.revision_after or "")
        self.messages.set_variable(f"{prefix}.PreviousTaskDefinitionArn", record.revision_before or "")
        self.messages.set_variable(f"{prefix}.ImageDigest", image_digest(record.image_after))
        self.messages.set_variable(f"{prefix}.Outcome", record.outcome)
        self.messages.set_variable(f"{prefix}.DeploymentId", record.deployment_id or "")
        self.messages.set_variable(f"{prefix}.ServiceDeploymentArn", record.service_deployment or "")
        percentage = min(100, max(0, done * 100 // total)) if total > 0 else 100
        revision = short_revision(record.revision_after, "")
        what = f"{record.service} {record.outcome}" + (f" ({revision})" if revision else "")
        self.messages.progress(percentage, f"{what}; {done} of {total} services finished")

    def stage(self, percentage: int, message: str) -> None:
        """The progress bar at a lifecycle stage of a service deployment or a lifecycle event of a CodeDeploy
        deployment: ``percentage`` (0-100) is its place in ECS's (CodeDeploy's) order, ``message`` names the
        service, the stage or event and the traffic weights."""
        self.messages.progress(min(100, max(0, percentage)), message)

    def warning(self, text: str) -> None:
        """A warning in Octopus's warning style."""
        self.messages.warning(text)

    def run_finished(self, run: RunRecord, report_path: Path | None, junit_path: Path | None, failed: bool) -> None:
        """The deployment record and the JUnit file as artifacts; on failure, a ``resultMessage`` saying why.

        Call it after both files are written (a file that does not exist yet is announced with length 0 and
        collected by Octopus when the step ends). The result message names every service that failed, was
        rolled back or did not finish, with its reason and the last line each container of its failed tasks
        wrote (masked), on one line of at most 1000 characters.
        """
        if report_path is not None:
            self.messages.create_artifact(report_path)
        if junit_path is not None:
            self.messages.create_artifact(junit_path)
        if failed:
            self.messages.result_message(self.failure_message(run))

    @staticmethod
    def failure_message(run: RunRecord) -> str:
        """One line naming the failed services and their reasons (the text of the ``resultMessage``)."""
        records = run.failed or [
            r for r in run.services.values()
            if r.outcome == "pending" and any(c.result == "failed" for c in r.checks.items)
        ]
        if records:
            text = f"ecsdeploy ({run.environment}): " + "; ".join(_failure(r) for r in records)
        elif run.services:
            finished = ", ".join(f"{r.service} {r.outcome}" for r in run.services.values())
            text = f"ecsdeploy ({run.environment}): a step failed ({finished}); see the task log."
        else:
            text = f"ecsdeploy ({run.environment}): the run failed before any service started; see the task log."
        text = clean_line(text)
        if len(text) > RESULT_MESSAGE_LIMIT:
            text = text[: RESULT_MESSAGE_LIMIT - 1] + "…"
        return text
