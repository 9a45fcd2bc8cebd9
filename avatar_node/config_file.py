"""Reading the YAML config file: every problem becomes one :class:`ConfigError` line.

Used by :func:`avatar_node.settings.load_settings` before pydantic-settings reads the file, so a
syntax error names the file, line and column instead of ending in a parser traceback.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from .errors import ConfigError


def check_yaml(path: Path) -> None:
    """The config file exists, is YAML and holds a mapping; else a one-line ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file not found: {path}",
            option="--config",
            fix="give the path of an existing YAML file",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read config file {path}: {one_line(str(exc))}",
            option="--config",
            fix="check the file",
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{path}: {describe_yaml_error(exc)}",
            option="--config",
            fix="fix the YAML syntax there",
        ) from exc
    if data is not None and not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the file holds a {type(data).__name__}, not a mapping of sections",
            option="--config",
            fix="start it with a section such as 'mqtt:'",
        )


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """``YAML syntax error at line L, column C: problem`` (1-based, as editors count)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"YAML syntax error{where}: {one_line(problem)}"


def one_line(text: str) -> str:
    return " ".join(text.split())


def first_option(exc: ValidationError) -> str | None:
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if loc:
            return loc
    return None


def describe_validation_error(exc: ValidationError, title: str) -> str:
    """All problems on one line, each naming the option (dotted path) and what is wrong."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{loc}: {one_line(err['msg'])}")
    return f"{title}: " + "; ".join(parts)
