"""TOML files read with one-sentence errors, and what their messages share.

Both ``ecsdeploy.toml`` (``config.py``) and the emulator's seed tables are read and checked with these, so a
mistake reads the same wherever it is: the file, then where in it, then what was expected and what was found.

- :func:`read_text`: a file's UTF-8 text; a missing file, a folder, a FIFO or device (which would hang the read
  or never end), a file past a size cap or bytes that are not UTF-8 is one sentence, and nothing is read first;
- :func:`read_toml`: a file parsed as TOML; what :func:`read_text` refuses, invalid TOML (with its line and
  column) and arrays nested too deep to parse is one sentence;
- :func:`render_template`: ``${VAR}``, ``${VAR:-fallback}`` and ``$${`` filled in a text;
- :func:`describe`: a value and its type as a message names it (``'two' (a string)``);
- :func:`choices` and :func:`closest`: "did you mean" and the list of what is valid.

It imports nothing of the product but ``errors.py``, so the embedded local AWS can use it without the rest.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["MAX_FILE_BYTES", "choices", "closest", "describe", "read_text", "read_toml", "render_template"]

#: The largest configuration or template file read (bytes): far more than any real one needs (a task definition
#: is at most 64 KiB once registered), small enough that a wrong path cannot fill the memory.
MAX_FILE_BYTES = 4 * 1024 * 1024

_PLACEHOLDER = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def read_text(path: Path, *, missing: str, kind: str, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the regular file ``path``; anything else is a ConfigError, one sentence, found before
    the read starts: a missing file (``missing`` ends the sentence: what to do), a folder, a FIFO, socket or
    device (``kind`` names what it is not), a file larger than ``limit`` bytes, bytes that are not UTF-8."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever; fstat then says what was opened.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist; {missing}.") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a directory, not {kind}.") from None
    except OSError as exc:
        raise ConfigError(f"{path} cannot be opened ({exc.strerror or exc}).") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"{path} is a directory, not {kind}.")
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path} is not a regular file (a FIFO, socket or device), not {kind}.")
        if info.st_size > limit:
            raise ConfigError(f"{path} is {info.st_size} bytes, more than the {limit} bytes {kind} may have.")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ConfigError(f"{path} is more than the {limit} bytes {kind} may have.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}.") from None


def read_toml(path: Path, *, missing: str, kind: str) -> dict[str, Any]:
    """``path`` parsed as TOML; what :func:`read_text` refuses, invalid TOML or arrays and tables nested too deep to
    parse is one sentence.

    ``missing`` ends the sentence for a missing file (what to do), ``kind`` names the file a folder is not.
    Invalid TOML reads ``PATH is not valid TOML: <what> (at line L, column C).``
    """
    text = read_text(path, missing=missing, kind=kind)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}.") from None
    except RecursionError:
        raise ConfigError(f"{path} is not valid TOML: its arrays or tables are nested too deep to read.") from None


def render_template(text: str, lookup: Mapping[str, str] | Any, where: str) -> str:
    """Fill ``${VAR}`` and ``${VAR:-fallback}`` in ``text``; ``$${`` is a literal ``${``.

    ``lookup`` is a mapping or a callable returning ``None`` for an unset name; when it has an ``advice(name)``
    method, its answer (if any) replaces the usual "pass --var" in the message. ``where`` starts the error
    message (``"deployments/ecsdeploy.toml: [environments.prod] role_arn"``); an unset variable without a
    fallback, a ``${`` never closed or a name that is not one is a ConfigError.
    """
    get = lookup if callable(lookup) else lookup.get
    advice = getattr(lookup, "advice", None)  # what to do about an unset name, when the lookup knows better

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        body = match.group(1)
        if body is None:
            raise ConfigError(f"{where}: '${{' is not closed by '}}'; write '$${{' for a literal '${{'.")
        name, has_default, default = body.partition(":-")
        if not _VAR_NAME.match(name):
            raise ConfigError(f"{where}: '${{{body}}}' is not a variable name (letters, digits and _).")
        value = get(name)
        if value is None:
            if has_default:
                return default
            what = (advice(name) if advice is not None else None) or \
                f"pass --var {name}=VALUE or set it in the environment"
            raise ConfigError(f"{where}: variable ${{{name}}} is not set; {what}.")
        return str(value)

    return _PLACEHOLDER.sub(replace, text)


def describe(value: Any) -> str:
    """A value as a message shows what was found: ``'two' (a string)``, ``3 (an integer)``, ``a table``."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int):
        return f"{value} (an integer)"
    if isinstance(value, float):
        return f"{value} (a number)"
    if isinstance(value, str):
        return f"'{value}' (a string)"
    if isinstance(value, list):
        return "a list" if all(isinstance(v, str) for v in value) else "a list with values that are not strings"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def closest(word: str, options: Iterable[str]) -> str | None:
    """The option ``word`` was most likely meant to be: the closest spelling, else (for three letters or more)
    the first option that starts with it or that it starts with; None when none is close."""
    names = list(options)
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6) or [
        n for n in names if len(word) >= 3 and (n.startswith(word) or word.startswith(n))
    ][:1]
    return close[0] if close else None


def choices(word: str, options: Iterable[str], lead: str = "choose one of") -> str:
    """``did you mean 'web'? (choose one of: api, web)``, or only the list (sorted) when nothing is close."""
    names = sorted(options)
    close = closest(word, names)
    listing = f"{lead}: {', '.join(names)}" if names else "none are defined"
    return f"did you mean '{close}'? ({listing})" if close else listing
