"""What is never printed: the one rule for names that look secret and for passwords inside URLs.

Four callers ask here, each keeping its own mask:

- the task-definition diff (``actions/taskdef/diff.py``): environment values, docker labels and log options
  whose names look secret, and passwords inside URLs in the other values and in commands and entry points,
  as ``<masked>``;
- every failed AWS call's message (``aws.py``): passwords inside URLs, as ``<masked>``;
- the smoke checks' printed URLs (``actions/smoke.py``): the password and secret-looking query values, as
  ``***``;
- the log lines of failed tasks (``actions/logs.py``): :func:`mask_log_line`, as ``<masked>``.

``actions/taskdef`` re-exports :data:`SECRET_NAME` and :func:`looks_secret` with its public names.

>>> looks_secret("DB_PASSWORD"), looks_secret("X-Amz-Signature"), looks_secret("LOG_LEVEL")
(True, True, False)
>>> mask_url_passwords("run postgres://app:pa55@db:5432/x now", "***")
'run postgres://app:***@db:5432/x now'
>>> mask_url_password("https://ci:two words@web.example.com/health", "***")
'https://ci:***@web.example.com/health'
>>> mask_log_line("FATAL: DB_PASSWORD=hunter22 rejected by postgres://app:hunter22@db/x", [], "<masked>")
'FATAL: DB_PASSWORD=<masked> rejected by postgres://app:<masked>@db/x'
"""

from __future__ import annotations

import re
import urllib.parse

#: Names (environment variables, log options, query parameters) whose values are never printed.
SECRET_NAME = re.compile(
    r"PASS|PWD|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|SIG|COOKIE|SESSION|SALT|DSN|CONN", re.IGNORECASE
)

_SCHEME = r"[A-Za-z][A-Za-z0-9+.-]*://"
#: The password as a URL parser reads it: from the authority's first ':' to its last '@' (the user may be an
#: e-mail address, the password may hold an unencoded '@', and it may be empty).
_AUTHORITY_PASSWORD = re.compile(rf"(?P<head>{_SCHEME}[^/?#\s:]*:)(?P<password>[^/?#\s]*)(?P<at>@)")
#: The password as a hand-written DSN has it: up to the first '@', an unencoded '?' or '#' included.
_DSN_PASSWORD = re.compile(rf"(?P<head>{_SCHEME}[^/\s:@]*:)(?P<password>[^@/\s]+)(?P<at>@)")
#: ``NAME=value``, ``NAME: value``, ``"name": "value"`` in free text: the value is masked when the name looks secret.
_ASSIGNMENT = re.compile(
    r"""(?P<head>(?P<quote>["']?)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P=quote)[ \t]*(?:=|:[ \t])[ \t]*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s,;&]+)"""
)
#: Secret values shorter than this are not searched for in free text: "1" or "on" would mask half a line.
MIN_SECRET_LENGTH = 4


def looks_secret(name: str) -> bool:
    """True for names like DB_PASSWORD, api_key, GITHUB_TOKEN, X-Amz-Signature, DATABASE_DSN (:data:`SECRET_NAME`)."""
    return bool(SECRET_NAME.search(name))


def mask_url_passwords(text: str, mask: str) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it replaced by ``mask``.

    Both readings of where the password ends are masked, so neither leaks a part of it. ``mask`` must not
    contain ``@``, ``/`` or whitespace (it is matched again by the second reading and must stay as it is).
    """
    for pattern in (_AUTHORITY_PASSWORD, _DSN_PASSWORD):
        text = pattern.sub(lambda m: f"{m.group('head')}{mask}{m.group('at')}", text)
    return text


def mask_url_password(url: str, mask: str) -> str:
    """One URL (not free text) with its password replaced by ``mask``, read as urllib reads it, so that a space in
    the password does not end it, and then as :func:`mask_url_passwords` reads it."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is not None:
        userinfo, _, host = parts.netloc.rpartition("@")
        url = urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:{mask}@{host}"))
    return mask_url_passwords(url, mask)


def mask_log_line(line: str, secrets: list[str] | tuple[str, ...], mask: str) -> str:
    """A line a program wrote (a container's log) with what looks secret in it replaced by ``mask``: each of
    ``secrets`` (known values, such as the task definition's secret-looking environment values, when at least
    :data:`MIN_SECRET_LENGTH` characters long), the value of ``NAME=value`` / ``NAME: value`` where NAME looks
    secret (:func:`looks_secret`), and passwords inside URLs (:func:`mask_url_passwords`)."""
    for value in sorted(secrets, key=len, reverse=True):
        if len(value) >= MIN_SECRET_LENGTH:
            line = line.replace(value, mask)
    line = _ASSIGNMENT.sub(lambda m: m.group("head") + mask if looks_secret(m.group("name")) else m.group(0), line)
    return mask_url_passwords(line, mask)
