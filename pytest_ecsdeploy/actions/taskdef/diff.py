"""Masking and the diff: two payloads in their normalised, readable form, with nothing secret in it.

Environment values whose names look secret (``redact.looks_secret``) are shown as :data:`MASK` (``"<masked>
(changed)"`` on the new side when they changed); everything else goes through ``redact.mask_tree`` (docker labels,
log and driver options, tags by their names; commands, entry points and health-check commands as command lines;
secrets by shape and URL passwords in every string); ``secrets`` (ARNs and parameter names, never values) are
shown as they are, and a ``valueFrom`` that is no reference is masked (it may be the secret itself).

>>> print(render_diff(running_payload, new_payload, "web:12 (running)", "web (new)"))
--- web:12 (running)
+++ web (new)
…
-        "DB_PASSWORD": "<masked>",
+        "DB_PASSWORD": "<masked> (changed)",
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from ...redact import MASK, looks_secret, mask, mask_tree
from .payload import normalise
from .secret_refs import is_reference


def mask_text(text: str) -> str:
    """``text`` with every secret found by structure or shape replaced by the mask (``redact.mask``)."""
    return mask(text)


def _masked_value(name: str, value: Any, other: Any) -> Any:
    if not isinstance(value, str):
        return value
    if looks_secret(name):
        return MASK if other is None or other == value else f"{MASK} (changed)"
    return mask_text(value)


def _diff_view(payload: Mapping[str, Any] | None, other: Mapping[str, Any] | None) -> dict[str, Any]:
    """The normalised payload as people read it: environment, secrets and tags as objects, secret-looking
    values masked (marked "(changed)" on the new side when they differ from ``other``)."""
    if payload is None:
        return {}
    view = normalise(payload)
    others = {
        c.get("name"): c for c in (normalise(other).get("containerDefinitions", []) if other is not None else [])
    }
    for container in view.get("containerDefinitions", []):
        peer = others.get(container.get("name"), {})
        peer_env = {item.get("name"): item.get("value") for item in peer.get("environment", [])}
        if "environment" in container:
            container["environment"] = {
                item.get("name"): _masked_value(str(item.get("name")), item.get("value"),
                                                peer_env.get(item.get("name")))
                for item in container["environment"]
            }
        if "secrets" in container:
            container["secrets"] = {
                item.get("name"): value if is_reference(value) else MASK
                for item in container["secrets"] for value in [str(item.get("valueFrom") or "")]
            }
        shown = {key: container.pop(key) for key in ("environment", "secrets") if key in container}
        container.update(mask_tree(container), **shown)
    if "tags" in view:
        view["tags"] = {tag.get("key"): tag.get("value") for tag in view["tags"]}
    containers = view.pop("containerDefinitions", None)
    view = mask_tree(view)
    if containers is not None:
        view["containerDefinitions"] = containers
    return view


def render_diff(old: Mapping[str, Any] | None, new: Mapping[str, Any], old_label: str, new_label: str) -> str:
    """A unified diff of two payloads in their readable, masked form; ``""`` when they normalise equal."""
    if old is not None and normalise(old) == normalise(new):
        return ""
    old_text = json.dumps(_diff_view(old, None), indent=2, sort_keys=True).splitlines() if old is not None else []
    new_text = json.dumps(_diff_view(new, old), indent=2, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(old_text, new_text, fromfile=old_label, tofile=new_label, lineterm=""))
