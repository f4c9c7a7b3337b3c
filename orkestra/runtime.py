"""One loaded config, ready to serve: its source types (per scope), endpoint plans and lifecycle.

Building a Runtime validates everything (sections, bindings, expressions, DAGs, routes) before
anything starts, so a hot reload can refuse a bad config while the old Runtime keeps serving.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orkestra.config.loader import LoadedConfig, Section, load_config, unknown_keys, validate_model
from orkestra.config.yaml_source import Location
from orkestra.errors import BindError, ConfigError, ConfigProblem, OrkestraError
from orkestra.plan.build import EndpointPlanner
from orkestra.plan.model import EndpointPlan
from orkestra.sources.base import ComponentStatus, SourceEnvironment, SourceType
from orkestra.sources.registry import get_source_type, known_source_types

log = logging.getLogger("orkestra")


@dataclass
class SourceScope:
    """The source types one domain sees: the global ones, with its domain-scoped files on top."""

    name: str
    types: dict[str, SourceType] = field(default_factory=dict)

    def get(self, type_name: str) -> SourceType | None:
        return self.types.get(type_name)


class RuntimeBuilder:
    def __init__(self, loaded: LoadedConfig, strict: bool) -> None:
        self.loaded = loaded
        self.strict = strict
        self.problems: list[ConfigProblem] = list(loaded.errors)
        self.warnings: list[ConfigProblem] = list(loaded.warnings)
        self.instances: list[SourceType] = []
        self.invalid_sections: set[tuple[str, str]] = set()  # (scope, type): already reported

    def make_type(
        self, type_name: str, section: Section | None, scope: SourceScope, where: Location
    ) -> SourceType | None:
        try:
            cls = source_class(type_name)
        except BindError as exc:
            self.problems.append(ConfigProblem(where.file, where.line, type_name, str(exc)))
            return None
        return self.instantiate(cls, type_name, section, scope, where)

    def instantiate(
        self,
        cls: type[SourceType],
        type_name: str,
        section: Section | None,
        scope: SourceScope,
        where: Location,
    ) -> SourceType | None:
        section = section or Section()
        model = validate_model(
            cls.section_model, section.data, section.locations, (type_name,), self.problems
        )
        if model is None:
            return None
        for p in unknown_keys(model, section.locations, (type_name,), self.strict):
            (self.problems if p.severity == "error" else self.warnings).append(p)
        env = SourceEnvironment(self.loaded.config_dir, self.loaded.secrets, scope.get)
        try:
            instance = cls(model, env)
        except OrkestraError as exc:
            loc = section.locations.find(()) or where
            self.problems.append(ConfigProblem(loc.file, loc.line, type_name, str(exc)))
            return None
        self.instances.append(instance)
        return instance

    def global_scope(self) -> SourceScope:
        scope = SourceScope("global")
        for type_name, section in self.loaded.sections.items():
            loc = section.locations.find(()) or Location("?", None)
            made = self.make_type(type_name, section, scope, loc)
            if made is not None:
                scope.types[type_name] = made
            else:
                self.invalid_sections.add((scope.name, type_name))
        return scope

    def domain_scope(
        self, base: SourceScope, domain_sections: dict[str, Section], name: str
    ) -> SourceScope:
        if not domain_sections:
            return base
        scope = SourceScope(name, dict(base.types))
        for type_name, section in domain_sections.items():
            merged = self.loaded.sections.get(type_name, Section()).overlaid(section)
            loc = section.locations.find(()) or Location("?", None)
            made = self.make_type(type_name, merged, scope, loc)
            if made is not None:
                scope.types[type_name] = made
            else:
                self.invalid_sections.add((scope.name, type_name))
        return scope

    def lookup_for(self, scope: SourceScope, domain_file: str) -> Any:
        def lookup(type_name: str) -> SourceType | None:
            """The scope's instance of `type_name`; raises BindError for an unknown type."""
            found = scope.get(type_name)
            if (
                found is None
                and {(scope.name, type_name), ("global", type_name)} & self.invalid_sections
            ):
                return None  # its section is invalid; binding against it would only add noise
            if found is None:
                # a type with no config section (direct, or a plugin with defaults)
                found = self.instantiate(
                    source_class(type_name), type_name, None, scope, Location(domain_file, None)
                )
                if found is not None:
                    scope.types[type_name] = found
            return found

        return lookup

    def build(self) -> Runtime:
        base_path = self.loaded.settings.app.api_base_path
        global_scope = self.global_scope()
        plans: list[EndpointPlan] = []
        for domain in self.loaded.domains:
            scope = self.domain_scope(global_scope, domain.sections, domain.domain_id)
            planner = EndpointPlanner(
                domain, base_path, self.lookup_for(scope, domain.file), self.problems
            )
            for name, spec in domain.spec.endpoints.items():
                plan = planner.build(name, spec)
                if plan is not None:
                    plans.append(plan)
        self.check_routes(plans)
        from orkestra.security.guard import auth_problems

        self.problems += auth_problems(self.loaded.settings.auth, self.loaded.domains, plans)
        if self.problems:
            raise ConfigError(_dedupe(self.problems))
        return Runtime(self.loaded, plans, _unique(self.instances), self.warnings)

    def check_routes(self, plans: list[EndpointPlan]) -> None:
        seen: dict[tuple[str, str], EndpointPlan] = {}
        for plan in plans:
            shape = _route_shape(plan.route)
            for method in plan.methods:
                other = seen.get((shape, method))
                if other is not None:
                    file_line, _, key = plan.location.partition(" ")
                    file, _, line = file_line.rpartition(":")
                    self.problems.append(
                        ConfigProblem(
                            file,
                            int(line) if line.isdigit() else None,
                            key,
                            f"{method} {plan.route} is already served by {other.key} ({other.location})",
                        )
                    )
                else:
                    seen[(shape, method)] = plan


def source_class(type_name: str) -> type[SourceType]:
    try:
        return get_source_type(type_name)
    except KeyError:
        known = ", ".join(known_source_types())
        raise BindError(f"unknown source type '{type_name}' (known: {known})", "type") from None
    except ImportError as exc:
        raise BindError(f"source type '{type_name}' cannot be loaded: {exc}", "type") from None


def _route_shape(route: str) -> str:
    import re

    return re.sub(r"\{[^}]+\}", "{}", route)


def _unique(items: list[SourceType]) -> list[SourceType]:
    seen: set[int] = set()
    out = []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def _dedupe(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """Each problem once, in file and line order."""
    return sorted(dict.fromkeys(problems), key=lambda p: (p.file, p.line or 0))


class Runtime:
    """A validated config with its source types and plans. Start it before serving, close it after."""

    def __init__(
        self,
        loaded: LoadedConfig,
        plans: list[EndpointPlan],
        sources: list[SourceType],
        warnings: list[ConfigProblem],
    ):
        self.loaded = loaded
        self.settings = loaded.settings
        self.plans = plans
        self.sources = sources
        self.warnings = warnings
        self.by_key = {p.key: p for p in plans}
        self.started = False

    @property
    def config_dir(self) -> Path:
        return self.loaded.config_dir

    @property
    def secrets(self) -> frozenset[str]:
        return self.loaded.secrets

    def plan(self, domain_id: str, endpoint: str) -> EndpointPlan | None:
        return self.by_key.get(f"{domain_id}.{endpoint}")

    def domains(self) -> dict[str, list[EndpointPlan]]:
        out: dict[str, list[EndpointPlan]] = {}
        for plan in self.plans:
            out.setdefault(plan.domain_id, []).append(plan)
        return out

    async def start(self) -> None:
        """Start every source type concurrently; one that fails is logged, not fatal."""
        results = await asyncio.gather(*(s.start() for s in self.sources), return_exceptions=True)
        for source, result in zip(self.sources, results):
            if isinstance(result, BaseException):
                log.error("source type %s failed to start: %s", source.type_name, result)
        self.started = True

    async def close(self) -> None:
        results = await asyncio.gather(*(s.close() for s in self.sources), return_exceptions=True)
        for source, result in zip(self.sources, results):
            if isinstance(result, BaseException):
                log.warning("source type %s did not close cleanly: %s", source.type_name, result)

    def status(self) -> dict[str, dict[str, ComponentStatus]]:
        out: dict[str, dict[str, ComponentStatus]] = {}
        for source in self.sources:
            try:
                parts = source.status()
            except Exception as exc:  # noqa: BLE001  # a status call must never take /ready down
                log.warning("status of %s failed: %s", source.type_name, exc)
                continue
            if parts:
                out.setdefault(source.type_name, {}).update(parts)
        return out


def build_runtime(loaded: LoadedConfig, *, strict: bool = False) -> Runtime:
    return RuntimeBuilder(loaded, strict).build()


def load_runtime(config_dir: str | Path, *, strict: bool = False) -> Runtime:
    """Load, validate and plan a config directory (nothing is started)."""
    return build_runtime(load_config(config_dir, strict=strict, defer_errors=True), strict=strict)
