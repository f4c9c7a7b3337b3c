"""Safe YAML reading that remembers where every key came from, and fills `${VAR}` from the environment.

A config error must name file, line and key path; pydantic reports a key path, so we keep a map
from key path to (file, line) for every node we read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orkestra.errors import ConfigError, ConfigProblem

KeyPath = tuple[str | int, ...]

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")


@dataclass(frozen=True)
class Location:
    file: str
    line: int | None


@dataclass
class Locations:
    """Key path -> where it was written. Paths are relative to what the map was built for."""

    by_path: dict[KeyPath, Location] = field(default_factory=dict)

    def find(self, path: KeyPath) -> Location | None:
        """The location of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            loc = self.by_path.get(path[:end])
            if loc is not None:
                return loc
        return None

    def sub(self, prefix: KeyPath) -> Locations:
        n = len(prefix)
        return Locations({p[n:]: loc for p, loc in self.by_path.items() if p[:n] == prefix})

    def graft(self, prefix: KeyPath, other: Locations) -> None:
        for p, loc in other.by_path.items():
            self.by_path[prefix + p] = loc


@dataclass
class YamlDocument:
    data: Any
    locations: Locations
    file: str


def format_key_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _EnvFiller:
    """Replaces ${VAR} / ${VAR:-default}; remembers values that came from the environment."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.secrets: set[str] = set()

    def fill(self, text: str, where: Location, path: KeyPath, problems: list[ConfigProblem]) -> str:
        if "${" not in text:
            return text

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = self.environ.get(name)
            if value is not None:
                if value:
                    self.secrets.add(value)
                return value
            if default is not None:
                return default
            problems.append(
                ConfigProblem(
                    where.file,
                    where.line,
                    format_key_path(path),
                    f"environment variable {name} is not set (set it, or write ${{{name}:-default}})",
                )
            )
            return ""

        return _ENV_REF.sub(substitute, text)


def read_yaml(
    path: Path, display_name: str, env: _EnvFiller, problems: list[ConfigProblem]
) -> YamlDocument | None:
    """Parse one file safely. Syntax errors and env problems are appended to `problems`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(
            ConfigProblem(display_name, None, "", f"cannot read file: {exc.__class__.__name__}")
        )
        return None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "invalid YAML"
        problems.append(ConfigProblem(display_name, line, "", f"invalid YAML: {what}"))
        return None
    except yaml.YAMLError as exc:
        problems.append(ConfigProblem(display_name, None, "", f"invalid YAML: {exc}"))
        return None
    locations = Locations()
    if node is None:
        return YamlDocument({}, locations, display_name)
    builder = _Builder(display_name, env, locations, problems)
    return YamlDocument(builder.build(node, ()), locations, display_name)


class _Builder:
    """Turns a composed YAML node tree into plain data, recording each key's line."""

    def __init__(
        self, file: str, env: _EnvFiller, locations: Locations, problems: list[ConfigProblem]
    ):
        self.file = file
        self.env = env
        self.locations = locations
        self.problems = problems
        self.constructor = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        where = Location(self.file, node.start_mark.line + 1)
        self.locations.by_path.setdefault(path, where)
        if isinstance(node, yaml.MappingNode):
            self.constructor.flatten_mapping(node)
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    self.problems.append(
                        ConfigProblem(
                            self.file,
                            key_node.start_mark.line + 1,
                            format_key_path(path),
                            "keys must be plain scalars",
                        )
                    )
                    continue
                key = key if isinstance(key, str) else str(key)
                if key in out:
                    self.problems.append(
                        ConfigProblem(
                            self.file,
                            key_node.start_mark.line + 1,
                            format_key_path(path + (key,)),
                            "duplicate key (the later value would silently win)",
                        )
                    )
                child = path + (key,)
                self.locations.by_path[child] = Location(self.file, key_node.start_mark.line + 1)
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        try:
            value = self.constructor.construct_object(node)
        except yaml.constructor.ConstructorError as exc:
            self.problems.append(
                ConfigProblem(
                    self.file, where.line, format_key_path(path), f"invalid value: {exc.problem}"
                )
            )
            return None
        if isinstance(value, str):
            return self.env.fill(value, where, path, self.problems)
        if not isinstance(value, (int, float, bool, type(None))):
            # dates and binary become strings: configs are JSON-shaped data
            return str(value)
        return value


def make_env_filler(environ: Mapping[str, str] | None = None) -> _EnvFiller:
    return _EnvFiller(os.environ if environ is None else environ)


def raise_if_errors(problems: list[ConfigProblem]) -> None:
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ConfigError(errors)
