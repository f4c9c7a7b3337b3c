"""Reads a config directory (SPEC §1) into validated models, with file:line for every problem."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from orkestra.config.models import DomainSpec, GlobalConfig
from orkestra.config.yaml_source import (
    KeyPath,
    Location,
    Locations,
    YamlDocument,
    format_key_path,
    make_env_filler,
    raise_if_errors,
    read_yaml,
)
from orkestra.errors import ConfigError, ConfigProblem

M = TypeVar("M", bound=BaseModel)

# Keys of config.yaml that earlier releases accepted and that mean nothing now.
OBSOLETE_GLOBAL_KEYS = {"performance", "logging"}


@dataclass
class Section:
    """One top-level integration key (`database`, `api`, `feast`, `ml`, a plugin's), merged over files."""

    data: dict[str, Any] = field(default_factory=dict)
    locations: Locations = field(default_factory=Locations)

    def merge(
        self, data: Any, locations: Locations, problems: list[ConfigProblem], name: str
    ) -> None:
        if not isinstance(data, dict):
            loc = locations.find(()) or Location("?", None)
            problems.append(ConfigProblem(loc.file, loc.line, name, "expected a mapping"))
            return
        for key, value in data.items():
            current = self.data.get(key)
            if isinstance(current, dict) and isinstance(value, dict):
                current.update(value)  # ids defined again override, as domain-scoped files do
            else:
                self.data[key] = value
            self.locations.graft((key,), locations.sub((key,)))

    def overlaid(self, other: Section | None) -> Section:
        """This section with `other` merged on top (for domain-scoped files)."""
        if other is None:
            return self
        merged = Section({k: dict(v) if isinstance(v, dict) else v for k, v in self.data.items()})
        merged.locations.graft((), self.locations)
        merged.merge(other.data, other.locations, [], "")
        return merged


@dataclass
class DomainConfig:
    domain_id: str
    spec: DomainSpec
    file: str
    locations: Locations
    sections: dict[str, Section]  # domain-scoped files, to overlay on the global sections


@dataclass
class LoadedConfig:
    config_dir: Path
    settings: GlobalConfig
    sections: dict[str, Section]
    domains: list[DomainConfig]
    secrets: frozenset[str]
    warnings: list[ConfigProblem]
    errors: list[ConfigProblem]  # found while reading; planning adds its own before raising

    @property
    def project_dir(self) -> Path:
        return self.config_dir.parent


def validate_model(
    model: type[M], data: Any, locations: Locations, prefix: KeyPath, problems: list[ConfigProblem]
) -> M | None:
    """Validate `data`; turn pydantic's errors into problems with file, line and key path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            path = _data_path(data, err["loc"])
            loc = locations.find(path) or Location("?", None)
            problems.append(
                ConfigProblem(loc.file, loc.line, format_key_path(prefix + path), _explain(err))
            )
        return None


def _data_path(data: Any, loc: tuple[Any, ...]) -> KeyPath:
    """pydantic's error location, keeping only the parts that are real keys of `data`."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if (
            isinstance(node, dict)
            and part in node
            or isinstance(node, list)
            and isinstance(part, int)
            and 0 <= part < len(node)
        ):
            path.append(part)
            node = node[part]
        elif (
            isinstance(node, dict)
            and isinstance(part, str)
            and not part[:1].isupper()
            and "[" not in part
        ):
            path.append(part)  # a missing required key: name it
            break
    return tuple(path)


def _explain(err: Mapping[str, Any]) -> str:
    kind, msg = err.get("type", ""), str(err.get("msg", "invalid value"))
    if kind == "missing":
        return "required key is missing"
    msg = msg.removeprefix("Value error, ")
    return msg[0].lower() + msg[1:] if msg else msg


def unknown_keys(
    model: BaseModel, locations: Locations, prefix: KeyPath, strict: bool
) -> list[ConfigProblem]:
    """Keys the models do not know, as warnings (errors under --strict)."""
    out: list[ConfigProblem] = []
    severity = "error" if strict else "warning"

    def walk(obj: Any, path: KeyPath) -> None:
        if isinstance(obj, BaseModel):
            for key in obj.model_extra or {}:
                loc = locations.find(path + (key,)) or Location("?", None)
                out.append(
                    ConfigProblem(
                        loc.file,
                        loc.line,
                        format_key_path(prefix + path + (key,)),
                        "unknown key",
                        severity,
                    )
                )
            for name, info in type(obj).model_fields.items():
                walk(getattr(obj, name), path + (info.alias or name,))
        elif isinstance(obj, list):
            for i, item in enumerate(obj):
                walk(item, path + (i,))
        elif isinstance(obj, dict):
            for k, v in obj.items():
                if isinstance(v, (BaseModel, list, dict)):
                    walk(v, path + (k,))

    walk(model, ())
    return out


class ConfigLoader:
    def __init__(
        self, config_dir: Path, *, strict: bool = False, environ: Mapping[str, str] | None = None
    ):
        self.config_dir = config_dir
        self.strict = strict
        self.env = make_env_filler(environ)
        self.problems: list[ConfigProblem] = []

    def display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.config_dir))
        except ValueError:
            return str(path)

    def read(self, path: Path) -> YamlDocument | None:
        return read_yaml(path, self.display(path), self.env, self.problems)

    def load(self) -> LoadedConfig:
        if not self.config_dir.is_dir():
            raise ConfigError(
                [ConfigProblem(str(self.config_dir), None, "", "config directory does not exist")]
            )
        from orkestra.sources.registry import known_source_types

        source_types = set(known_source_types())
        settings_data: dict[str, Any] = {}
        settings_locs = Locations()
        sections: dict[str, Section] = {}

        main = self.config_dir / "config.yaml"
        if main.exists():
            doc = self.read(main)
            if doc is not None:
                if not isinstance(doc.data, dict):
                    self._expected_mapping(doc)
                else:
                    for key, value in doc.data.items():
                        if key in source_types:
                            self._add_section(sections, key, value, doc.locations.sub((key,)))
                        else:
                            settings_data[key] = value
                    settings_locs = doc.locations
        self._read_integrations(self.config_dir, sections, source_types)

        domains = self._read_domains(source_types)
        settings = validate_model(GlobalConfig, settings_data, settings_locs, (), self.problems)
        if settings is None:
            raise_if_errors(self.problems)
        assert settings is not None
        warnings = unknown_keys(settings, settings_locs, (), self.strict)
        for key in OBSOLETE_GLOBAL_KEYS & settings_data.keys():
            loc = settings_locs.find((key,)) or Location("config.yaml", None)
            warnings.append(
                ConfigProblem(
                    loc.file, loc.line, key, "accepted for compatibility; has no effect", "warning"
                )
            )
        self.problems.extend(warnings)
        return LoadedConfig(
            self.config_dir,
            settings,
            sections,
            domains,
            frozenset(self.env.secrets),
            [p for p in self.problems if p.severity == "warning"],
            [p for p in self.problems if p.severity == "error"],
        )

    def _expected_mapping(self, doc: YamlDocument) -> None:
        self.problems.append(
            ConfigProblem(doc.file, 1, "", "expected a mapping at the top of the file")
        )

    def _add_section(
        self, sections: dict[str, Section], key: str, value: Any, locs: Locations
    ) -> None:
        sections.setdefault(key, Section()).merge(value, locs, self.problems, key)

    def _read_integrations(
        self, base: Path, sections: dict[str, Section], source_types: set[str]
    ) -> None:
        """database.yaml and integrations/*.yaml under `base`, merged by top-level key."""
        files = [base / "database.yaml", base / "database.yml"]
        files += (
            sorted((base / "integrations").glob("*.y*ml"))
            if (base / "integrations").is_dir()
            else []
        )
        for path in files:
            if not path.is_file():
                continue
            doc = self.read(path)
            if doc is None or doc.data in (None, {}):
                continue
            if not isinstance(doc.data, dict):
                self._expected_mapping(doc)
                continue
            data, locs = doc.data, doc.locations
            if (
                path.stem == "database"
                and "database" not in data
                and ({"sources", "operations"} & data.keys())
            ):
                data, wrapped = {"database": data}, Locations()
                wrapped.graft(("database",), locs)
                locs = wrapped
            for key, value in data.items():
                if key in source_types:
                    self._add_section(sections, key, value, locs.sub((key,)))
                else:
                    loc = locs.find((key,)) or Location(doc.file, None)
                    self.problems.append(
                        ConfigProblem(
                            loc.file,
                            loc.line,
                            key,
                            f"unknown integration section (known: {', '.join(sorted(source_types))})",
                            "error" if self.strict else "warning",
                        )
                    )

    def _read_domains(self, source_types: set[str]) -> list[DomainConfig]:
        domains_dir = self.config_dir / "domains"
        if not domains_dir.is_dir():
            return []
        out: list[DomainConfig] = []
        seen: dict[str, str] = {}
        for path in sorted(domains_dir.glob("*.y*ml")):
            doc = self.read(path)
            if doc is None:
                continue
            if not isinstance(doc.data, dict):
                self._expected_mapping(doc)
                continue
            spec = validate_model(DomainSpec, doc.data, doc.locations, (), self.problems)
            if spec is None:
                continue
            domain_id = spec.domain_id or spec.domain_name or path.stem
            if domain_id in seen:
                self.problems.append(
                    ConfigProblem(
                        doc.file,
                        1,
                        "domain_id",
                        f"domain '{domain_id}' is already defined in {seen[domain_id]}",
                    )
                )
                continue
            seen[domain_id] = doc.file
            scoped: dict[str, Section] = {}
            scoped_dir = domains_dir / path.stem
            if scoped_dir.is_dir():
                self._read_integrations(scoped_dir, scoped, source_types)
            for p in unknown_keys(spec, doc.locations, (), self.strict):
                self.problems.append(p)
            out.append(DomainConfig(domain_id, spec, doc.file, doc.locations, scoped))
        return out


def load_config(
    config_dir: str | Path,
    *,
    strict: bool = False,
    environ: Mapping[str, str] | None = None,
    defer_errors: bool = False,
) -> LoadedConfig:
    """Load and validate a config directory; raise ConfigError listing every problem found.

    With `defer_errors`, problems in domain files are returned in `errors` (so that planning can
    report its own problems in the same error) unless the global settings themselves are invalid.
    """
    loaded = ConfigLoader(Path(config_dir).resolve(), strict=strict, environ=environ).load()
    if loaded.errors and not defer_errors:
        raise ConfigError(loaded.errors)
    return loaded
