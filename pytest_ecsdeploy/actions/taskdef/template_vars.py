"""The values a task-definition template's ``${VAR}`` sees: the user's, then three the run itself knows.

A template is rendered with ``--var``, the process environment and the environment's ``vars`` table first (see
docs/configuration.md), and then with these built-in names, so that one template serves every environment:

- ``${REGION}``: the environment's region;
- ``${ACCOUNT_ID}``: the caller's account (STS GetCallerIdentity, asked only when a template names it; the
  account guard compares it with the environment's ``account_id`` before any write);
- ``${IMAGE_TAG}``: the run's ``--image-tag``; a template that names it (without a ``:-fallback``) when none
  was given is a ConfigError naming the template and ``--image-tag``.

``ecsdeploy init`` writes templates with them. A name the user sets wins over a built-in one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

BUILT_IN = ("ACCOUNT_ID", "REGION", "IMAGE_TAG")


class TemplateVariables(Mapping[str, str]):
    """``user`` first, then the built-in names, each computed when first asked for.

    >>> variables = TemplateVariables({"LOG_LEVEL": "info"}, region=lambda: "eu-west-1",
    ...                               account_id=lambda: "123456789012", image_tag=lambda: None)
    >>> variables["REGION"], variables["LOG_LEVEL"]
    ('eu-west-1', 'info')
    """

    def __init__(self, user: Mapping[str, str], *, region: Callable[[], str], account_id: Callable[[], str],
                 image_tag: Callable[[], str | None]) -> None:
        self._user = user
        self._built_in: dict[str, Callable[[], str | None]] = {
            "ACCOUNT_ID": account_id, "REGION": region, "IMAGE_TAG": image_tag,
        }
        self._known: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name in self._user:
            return self._user[name]
        if name not in self._built_in:
            raise KeyError(name)
        if name not in self._known:
            value = self._built_in[name]()
            if value is None:
                raise KeyError(name)
            self._known[name] = value
        return self._known[name]

    def advice(self, name: str) -> str | None:
        """What to do about an unset built-in name (``render_template`` puts it in its message)."""
        return "it is the run's --image-tag: pass --image-tag TAG" if name == "IMAGE_TAG" else None

    def __iter__(self) -> Iterator[str]:
        return iter({**{name: None for name in self._user}, **{name: None for name in BUILT_IN}})

    def __len__(self) -> int:
        return len(set(self._user) | set(BUILT_IN))

    def __repr__(self) -> str:
        return f"<TemplateVariables: {len(self._user)} set, built in: {', '.join(BUILT_IN)}>"
