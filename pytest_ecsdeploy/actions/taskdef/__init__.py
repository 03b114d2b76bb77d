"""Task definitions: copy or render one, change only what a deploy changes, validate it, register it once.

The ``task_definition`` fixture is a :class:`TaskDefinition` bound to the scenario's service::

    def test_register_revision(task_definition, ecr):
        revision = task_definition.with_image("app", ecr.image()).register()
        assert revision.arn == task_definition.registered.arn

What it gets right where the usual describe/jq/register recipe does not:

- **Sources.** ``current()`` copies the revision the service runs now (DescribeServices, then
  DescribeTaskDefinition with its tags); ``from_file(path)`` renders a JSON template with ``${VAR}``. Both a bare
  RegisterTaskDefinition document and describe-task-definition output (``{"taskDefinition": {...}, "tags":
  [...]}``, read-only fields and all) are accepted. Without either call the source is the service's
  ``task_definition`` key, else ``current()``.
- **The payload comes from botocore's service model.** Every member of RegisterTaskDefinitionRequest is carried
  (executionRoleArn, ephemeralStorage, dependsOn, runtimePlatform, tags …), the fields DescribeTaskDefinition adds
  (``taskDefinitionArn``, ``revision``, ``status``, ``requiresAttributes`` …, computed as the TaskDefinition
  shape's members that the request lacks) are dropped, nulls are dropped, an empty string in an enum field (what
  exporters write for "unset") is dropped, scalars are converted to the type the model asks for, and a key the
  model does not know is an error naming it and the nearest valid key.
- **Only the named containers change** (``with_image``), sidecars keep their images.
- **Idempotent.** :func:`normalise` puts a payload and what DescribeTaskDefinition returns for it in one form
  (ECS's defaults, empty lists, key and list order, ``"1 vCPU"``/``"2 GB"``), so an unchanged definition is not
  registered again; the revision returned is the exact ARN registered (or reused), never "latest by family".
- **Secrets stay secret.** ``secrets`` are ARNs and are shown; environment values whose names look secret
  (:data:`SECRET_NAME`) and passwords inside URLs are masked in every diff and message. Secret references are
  checked with DescribeSecret / DescribeParameters, which return metadata only: no value is ever read.

Checks are recorded under the actions ``task_definition.validate`` and ``task_definition.register``.

Modules, one concern each: ``payload.py`` (the model-derived payload, normalisation, differences),
``validation.py`` (Fargate table, image references, checks without AWS), ``secret_refs.py`` (secret references
and whether they exist), ``diff.py`` (masking and the diff), ``revision.py`` (Revision, describing revisions) and
``action.py`` (the :class:`TaskDefinition` class). The names below are the ones to import.
"""

from __future__ import annotations

from ...redact import SECRET_NAME, looks_secret
from .action import REGISTER, SOURCE, VALIDATE, TaskDefinition
from .diff import MASK, mask_text, render_diff
from .payload import (
    cpu_units,
    differences,
    memory_mib,
    network_mode,
    normalise,
    payload_from,
    read_only_fields,
    register_shape,
)
from .revision import Revision, RevisionStatus
from .secret_refs import SecretRef, secret_references
from .validation import (
    FARGATE_EPHEMERAL_GIB,
    FARGATE_SIZES,
    fargate_memory_choices,
    image_reference_problem,
    payload_warnings,
    validate_payload,
)

__all__ = [
    "FARGATE_EPHEMERAL_GIB",
    "FARGATE_SIZES",
    "MASK",
    "REGISTER",
    "SECRET_NAME",
    "SOURCE",
    "VALIDATE",
    "Revision",
    "RevisionStatus",
    "SecretRef",
    "TaskDefinition",
    "cpu_units",
    "differences",
    "fargate_memory_choices",
    "image_reference_problem",
    "looks_secret",
    "mask_text",
    "memory_mib",
    "network_mode",
    "normalise",
    "payload_from",
    "payload_warnings",
    "read_only_fields",
    "register_shape",
    "render_diff",
    "secret_references",
    "validate_payload",
]
