"""What is never printed, and the one layer every output of the run goes through.

A value is secret because of **where it stands** or **what it looks like**:

- by structure (:func:`mask_tree`, :func:`mask_argv`, :func:`mask`): the value of a name that looks secret
  (:data:`SECRET_NAME`: ``DB_PASSWORD``, ``api_key``, ``X-Amz-Signature`` …) wherever a name stands next to a
  value: ``{"name": N, "value": V}`` pairs (environment), ``{"key": K, "value": V}`` pairs (tags), object keys
  (docker labels, log and driver options), the same pairs and keys written as JSON or Python text, command-line
  flags (``--db-password=V``, ``--token V``, also as two
  list items), ``NAME=V`` in shell strings and query strings, ``"NAME": "V"`` in quoted text; and the password of
  every URL (``scheme://user:password@host``, read both as a URL parser and as a hand-written DSN reads it, so a
  ``/``, ``@`` or space in the password does not end it);
- by shape, whatever the name: AWS access keys, GitHub, GitLab, Slack, Stripe, Twilio, SendGrid, OpenAI, PyPI,
  Discord, Telegram, Square, Mailchimp and Azure storage keys, JWTs (the regular expressions of Yelp's
  ``detect-secrets`` plugins, :data:`SHAPE_PLUGINS`), and PEM private-key blocks (detect-secrets finds the
  ``BEGIN … PRIVATE KEY`` line; the whole block is masked).

detect-secrets' keyword and entropy plugins are not used: names are handled by structure above, and entropy would
mask image digests, ARNs and task ids, which a deployment log must show. Its URL (``BasicAuthDetector``) and npm
patterns are not used either: they backtrack quadratically on long values; the URL rule here is linear.

Every value printed goes through :func:`clean_line` (one sentence: errors, check details, reasons, events) or
:func:`clean_block` (lines of text: the terminal, a diff, a failure report): secrets masked as :data:`MASK`, line
breaks and other control characters inside a value written as escapes (``\\n``), and ``##octopus`` written
``# #octopus`` so no value can start a line or forge an Octopus service message. Masking is linear in the size
of its input: every pattern is anchored at the start of a run of characters or bounded.

>>> looks_secret("DB_PASSWORD"), looks_secret("X-Amz-Signature"), looks_secret("LOG_LEVEL")
(True, True, False)
>>> mask("sh -c 'export API_TOKEN=tok_1 && exec app --db-password=pw --url postgres://app:p w@db/x'")
"sh -c 'export API_TOKEN=<masked> && exec app --db-password=<masked> --url postgres://app:<masked>@db/x'"
>>> mask_argv(["./migrate", "--token", "abc", "-v"])
['./migrate', '--token', '<masked>', '-v']
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import Any

from .arns import parse_arn

MASK = "<masked>"
OCTOPUS_LABEL = "##octopus"
DEFUSED_LABEL = "# #octopus"

#: Names (environment variables, flags, log options, tags, query parameters) whose values are never printed.
SECRET_NAME = re.compile(
    r"PASS|PWD|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE|AUTH|SIG|COOKIE|SESSION|SALT|DSN|CONN", re.IGNORECASE
)

#: The detect-secrets plugins whose patterns find secrets by shape (module, class).
SHAPE_PLUGINS = (
    ("aws", "AWSKeyDetector"),
    ("azure_storage_key", "AzureStorageKeyDetector"),
    ("discord", "DiscordBotTokenDetector"),
    ("github_token", "GitHubTokenDetector"),
    ("gitlab_token", "GitLabTokenDetector"),
    ("jwt", "JwtTokenDetector"),
    ("mailchimp", "MailchimpDetector"),
    ("openai", "OpenAIDetector"),
    ("pypi_token", "PypiTokenDetector"),
    ("sendgrid", "SendGridDetector"),
    ("slack", "SlackDetector"),
    ("square_oauth", "SquareOAuthDetector"),
    ("stripe", "StripeDetector"),
    ("telegram_token", "TelegramBotTokenDetector"),
    ("twilio", "TwilioKeyDetector"),
)

# A run of name characters starts only where the previous character is not one, so a long run is scanned once
# (a pattern that could start anywhere inside it would scan it again from every position: quadratic).
_NAME_START = r"(?<![A-Za-z0-9_.+-])"
_SCHEME = rf"{_NAME_START}[A-Za-z][A-Za-z0-9+.-]*://"
#: The authority as a URL parser reads it: up to the first '/', '?', '#' or whitespace.
_AUTHORITY = re.compile(rf"(?P<head>{_SCHEME})(?P<authority>[^/?#\s]*)")
#: The password as a hand-written DSN has it: from the user's ':' up to the next '@' (a '/', '?', '#' or space
#: included), at most 512 characters later on the same line.
_DSN_PASSWORD = re.compile(rf"(?P<head>{_SCHEME}[^/?#\s:@'\"]*:)(?P<password>[^@\n\r'\"]{{0,512}}?)(?P<at>@)")
#: ``NAME=value`` (``--name=value``, ``export NAME=value``, ``name=value&`` in a query) and ``"NAME": value`` /
#: ``'NAME': value`` (quoted text, JSON).
_VALUE = r"(?:\"[^\"\n]*\"|'[^'\n]*'|(?:(?:Bearer|Basic|Token)\s+)?[^\s'\",;&|)}\]]+)"
_ASSIGNMENT = re.compile(
    rf"(?P<head>{_NAME_START}(?P<quote>[\"']?)(?P<name>-{{0,2}}[A-Za-z_][A-Za-z0-9_.-]*)(?P=quote)"
    rf"(?P<sep>=|(?<=[\"']):[ \t]*))(?P<value>{_VALUE})"
)
#: ``"name": "DB_PASSWORD", "value": "…"`` and ``'key': 'api-token', 'value': '…'``: a pair in JSON or a Python repr.
_PAIR = re.compile(
    r"(?P<head>(?P<q1>[\"'])(?:name|key|Name|Key)(?P=q1)[ \t]*:[ \t]*(?P<q2>[\"'])(?P<name>[^\"'\n]{0,256})(?P=q2)"
    r"[ \t]*,[ \t]*(?P<q3>[\"'])(?:value|Value)(?P=q3)[ \t]*:[ \t]*)(?P<value>\"[^\"\n]*\"|'[^'\n]*')"
)
#: ``--token value``: a flag whose name looks secret, then its value (which does not start with '-'); also as two
#: items of a list written as JSON or Python text (``"--token", "value"``).
_FLAG_VALUE = re.compile(
    rf"(?P<head>{_NAME_START}(?P<q>[\"']?)(?P<name>--?[A-Za-z][A-Za-z0-9_.-]*)(?P=q)(?:,[ \t]*|[ \t]+))"
    r"(?P<value>\"(?!-)[^\"\n]*\"|'(?!-)[^'\n]*'|[^\s'\"-]\S*)"
)
#: Values that stand for a value in a message (``pass --var DB_PASSWORD=VALUE``), kept as they are.
_PLACEHOLDERS = frozenset({MASK, "VALUE", "...", "…", ""})
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|PuTTY-Private-MAC: \S+")
_PEM_BEGIN = re.compile(r"(?:-----)?BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*(?:-----)?|PuTTY-User-Key-File-\d")
#: Shape patterns are searched in windows of this many characters, overlapping by half: some of detect-secrets'
#: patterns (JWT, Slack, OpenAI) backtrack over a long run of token characters from every place it could start,
#: which is quadratic in the run; in a window it costs at most the window's square, so the whole search is linear.
#: A shape's first 512 characters are always inside one window, and a match is stretched to its run's end.
_WINDOW = 1024
_TOKEN_TAIL = re.compile(r"[A-Za-z0-9_+/=.-]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\x85]")
_LINE_BREAK = re.compile(r"\r\n|[\r\n\u2028\u2029\x85]")


def looks_secret(name: str) -> bool:
    """True for names like DB_PASSWORD, api_key, GITHUB_TOKEN, X-Amz-Signature, DATABASE_DSN (:data:`SECRET_NAME`)."""
    return bool(SECRET_NAME.search(name))


def _is_reference(value: str) -> bool:
    """An ARN is a reference (``secrets`` valueFrom, ``credentialsParameter``), never the secret itself."""
    return parse_arn(value) is not None


@functools.lru_cache(maxsize=1)
def _shape_patterns() -> tuple[re.Pattern[str], ...]:
    """Every pattern of :data:`SHAPE_PLUGINS` (imported once, on first use)."""
    import importlib

    patterns: list[re.Pattern[str]] = []
    for module, name in SHAPE_PLUGINS:
        patterns += getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), name)().denylist
    return tuple(patterns)


def _shape_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds a secret by its shape, sorted: each match stretched to the end of its run of token
    characters (a JWT's signature, a key longer than the pattern asks for), each PEM block whole."""
    found: list[tuple[int, int]] = []
    last = max(len(text) - _WINDOW, 0)
    for offset in [*range(0, last, _WINDOW // 2), last]:
        window = text[offset:offset + _WINDOW]
        for pattern in _shape_patterns():
            found += [(offset + m.start(), offset + m.end()) for m in pattern.finditer(window)]
    spans: list[tuple[int, int]] = []
    scanned = (0, 0)  # a stretch of token characters already scanned: every span ending inside it ends at its end
    for start, end in sorted(found):
        if not scanned[0] <= end < scanned[1]:
            scanned = (end, _TOKEN_TAIL.match(text, end).end())  # type: ignore[union-attr]
        spans.append((start, max(end, scanned[1])))
    for begin in _PEM_BEGIN.finditer(text):
        close = _PEM_END.search(text, begin.end())
        spans.append((begin.start(), close.end() if close else len(text)))
    return sorted(spans)


def _replace_spans(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """``text`` with every (start, end) of ``spans`` (sorted by start; they may overlap) replaced by the mask."""
    parts: list[str] = []
    position = 0
    for start, end in spans:
        if end <= position:
            continue
        start = max(start, position)
        parts += [text[position:start], MASK]
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _mask_assignment(match: re.Match[str]) -> str:
    value, name = match.group("value"), match.group("name")
    bare = value.strip("\"'")
    if (match.groupdict().get("sep") or "=").startswith(":") and name.lower() == "key":
        return match.group(0)  # "key": "api-token" is a tag's name, not an API key
    if not looks_secret(name) or bare in _PLACEHOLDERS or bare.startswith(("${", MASK)) or _is_reference(bare):
        return match.group(0)
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('head')}{quote}{MASK}{quote}"


def mask_url_passwords(text: str, mask: str = MASK) -> str:
    """``text`` with the password of every ``scheme://user:password@host`` in it replaced by ``mask``.

    Both readings of where the password ends are masked (a URL parser's: the authority's last '@'; a DSN's:
    the first '@', across '/', '?', '#' and spaces), so neither leaks a part of it. ``mask`` must not contain
    ``@``, ``/`` or whitespace.
    """

    def authority(match: re.Match[str]) -> str:
        userinfo, at, host = match.group("authority").rpartition("@")
        user, colon, _ = userinfo.partition(":")
        if not at or not colon:
            return match.group(0)
        return f"{match.group('head')}{user}:{mask}@{host}"

    text = _AUTHORITY.sub(authority, text)
    return _DSN_PASSWORD.sub(lambda m: f"{m.group('head')}{mask}{m.group('at')}", text)


def mask_url_password(url: str, mask: str) -> str:
    """One URL (not free text) with its password replaced by ``mask``, read as urllib reads it, so that a space in
    the password does not end it, and then as :func:`mask_url_passwords` reads it."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is not None:
        userinfo, _, host = parts.netloc.rpartition("@")
        url = urllib.parse.urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:{mask}@{host}"))
    return mask_url_passwords(url, mask)


def mask(text: str) -> str:
    """``text`` with every secret found by structure or by shape (see the module) replaced by :data:`MASK`."""
    if not text:
        return text
    text = _replace_spans(text, _shape_spans(text))
    text = mask_url_passwords(text, MASK)
    text = _PAIR.sub(_mask_assignment, text)
    text = _ASSIGNMENT.sub(_mask_assignment, text)
    return _FLAG_VALUE.sub(_mask_assignment, text)


def mask_argv(parts: Iterable[Any]) -> list[Any]:
    """A command (``command``, ``entryPoint``, ``healthCheck.command``, a RunTask override) fit to print: the
    item after a flag whose name looks secret (``--token``, ``-password``) masked, every string :func:`mask`-ed."""
    result: list[Any] = []
    secret_flag = False
    for part in parts:
        if isinstance(part, str):
            starts_flag = part.startswith("-")
            result.append(MASK if secret_flag and not starts_flag and not _is_reference(part) else mask(part))
            secret_flag = starts_flag and "=" not in part and looks_secret(part)
        else:
            result.append(mask_tree(part))
            secret_flag = False
    return result


def mask_tree(value: Any) -> Any:
    """A copy of a JSON-like value (a task definition, a record) fit to print: name/value and key/value pairs and
    object keys that look secret have their value masked, lists of strings are read as commands
    (:func:`mask_argv`), every other string is :func:`mask`-ed. ARNs named by a secret-looking key are kept:
    they are references, not secrets."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, Mapping):
        label = next((value[k] for k in ("name", "key", "Name", "Key") if isinstance(value.get(k), str)), None)
        result: dict[Any, Any] = {}
        for key, item in value.items():
            named = label if key in ("value", "Value") and label is not None else str(key)
            if item is not label and isinstance(item, str) and looks_secret(named) and not _is_reference(item):
                result[key] = MASK
            else:
                result[key] = mask_tree(item)
        return result
    if isinstance(value, (list, tuple)):
        if all(isinstance(item, str) for item in value):
            return mask_argv(value)
        return [mask_tree(item) for item in value]
    return value


def _defuse(line: str) -> str:
    line = line.replace(OCTOPUS_LABEL, DEFUSED_LABEL)
    return line + " " if line.endswith("#") else line


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return {"\r\n": "\\r\\n", "\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\u{ord(char[0]):04x}")


def clean_line(text: str) -> str:
    """One sentence fit for every output: :func:`mask`-ed, line breaks and control characters written as escapes
    (a value cannot start a line), ``##octopus`` defused (a value cannot forge a service message)."""
    text = mask(text)
    text = _LINE_BREAK.sub(_escape, text)
    return _defuse(_CONTROL.sub(_escape, text))


def clean_block(text: str) -> str:
    """Lines of text (a diff, a failure report) fit for every output: each line as :func:`clean_line` makes it,
    the line breaks between them kept."""
    masked = mask(text)
    return "\n".join(_defuse(_CONTROL.sub(_escape, line.rstrip("\r"))) for line in _LINE_BREAK.split(masked))


def clean_report(report: Any) -> Any:
    """A pytest test report (duck-typed: ``longrepr``, ``sections``) cleaned in place and returned: its failure
    text and captured output as :func:`clean_block` makes them, a skip's reason as :func:`clean_line` makes it,
    before the terminal, the JUnit file or another plugin reads it. A failure report whose text changes becomes
    that text."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], clean_line(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        cleaned = clean_block(text)
        if cleaned != text:
            report.longrepr = cleaned
    report.sections = [(title, clean_block(content)) for title, content in report.sections]
    return report
