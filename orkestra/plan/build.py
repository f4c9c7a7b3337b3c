"""Endpoint -> validated DAG of source nodes. Runs once per config load; never per request."""

from __future__ import annotations

import re
from collections.abc import Callable
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING, Any, Protocol

from orkestra.config.loader import DomainConfig
from orkestra.config.models import DataSourceSpec, EndpointSpec, RetrySpec
from orkestra.config.yaml_source import KeyPath, Location, format_key_path
from orkestra.errors import BindError, ConfigProblem, ExpressionError, OrkestraError
from orkestra.expr import Template, compile_expression, compile_template
from orkestra.plan.model import BUILTIN_ROOTS, EndpointPlan, ResponsePlan, RetryPolicy, SourceNode
from orkestra.resilience.budget import RetryBudget
from orkestra.resilience.bulkhead import Bulkhead
from orkestra.resilience.guard import CachePlan, SourceGuard, build_breaker, build_cache
from orkestra.transforms import Transform, compile_transform

if TYPE_CHECKING:
    from orkestra.sources.base import SourceType

_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

SourceLookup = Callable[[str], "SourceType | None"]


class EndpointPlanner:
    """Builds the plans of one domain's endpoints, collecting every problem instead of stopping."""

    def __init__(
        self,
        domain: DomainConfig,
        base_path: str,
        lookup: SourceLookup,
        problems: list[ConfigProblem],
    ):
        self.domain = domain
        self.base_path = base_path
        self.lookup = lookup
        self.problems = problems

    # -- reporting -------------------------------------------------------------------------------
    def where(self, path: KeyPath) -> Location:
        return self.domain.locations.find(path) or Location(self.domain.file, None)

    def problem(self, path: KeyPath, message: str) -> None:
        loc = self.where(path)
        self.problems.append(ConfigProblem(loc.file, loc.line, format_key_path(path), message))

    def describe(self, path: KeyPath) -> str:
        loc = self.where(path)
        return f"{loc.file}:{loc.line} {format_key_path(path)}"

    def template(self, value: Any, path: KeyPath) -> Template | None:
        try:
            return compile_template(value)
        except ExpressionError as exc:
            self.problem(path + tuple(getattr(exc, "key_path", ())), f"invalid expression: {exc}")
            return None

    def expression(self, text: str, path: KeyPath) -> Template | None:
        try:
            return compile_expression(text)
        except ExpressionError as exc:
            self.problem(path, f"invalid expression: {exc}")
            return None

    def transform(self, spec: Any, path: KeyPath) -> Transform | None:
        if spec is None:
            return None
        try:
            return compile_transform(spec)
        except OrkestraError as exc:
            self.problem(path + tuple(getattr(exc, "key_path", ())), f"invalid transform: {exc}")
            return None

    # -- building --------------------------------------------------------------------------------
    def build(self, name: str, spec: EndpointSpec) -> EndpointPlan | None:
        before = len(self.problems)
        ep_path: KeyPath = ("endpoints", name)
        names = [ds.name for ds in spec.data_sources]
        for i, ds in enumerate(spec.data_sources):
            if names.index(ds.name) != i:
                self.problem(
                    ep_path + ("data_sources", i, "name"), f"duplicate data source name '{ds.name}'"
                )
        known = set(names)

        nodes: dict[str, SourceNode] = {}
        ordered_refs: list[Template] = []
        for i, ds in enumerate(spec.data_sources):
            node = self.build_node(ds, ep_path + ("data_sources", i), known, ordered_refs)
            if node is not None:
                nodes[ds.name] = node

        response = self.build_response(spec, ep_path, known, ordered_refs)
        path_params, route = self.build_route(name, spec, ep_path, ordered_refs)
        order, stages = self.sort(nodes, ep_path)
        validator = self.input_validator(spec, ep_path)
        cache = self.cache_plan(spec.cache, f"{self.domain.domain_id}.{name}", ep_path, known)
        if len(self.problems) > before or response is None:
            return None
        return EndpointPlan(
            domain_id=self.domain.domain_id,
            name=name,
            spec=spec,
            route=route,
            methods=tuple(spec.http_methods()),
            path_params=path_params,
            nodes=nodes,
            order=order,
            response=response,
            input_validator=validator,
            input_types=input_property_types(spec.input_schema or {}),
            timeout=spec.timeout,
            location=self.describe(ep_path),
            stages=stages,
            cache=cache,
        )

    def check_refs(
        self,
        template: HasReferences | None,
        path: KeyPath,
        known: set[str],
        own: str | None = None,
        raw: Any = None,
    ) -> set[str]:
        if template is None:
            return set()
        deps = set()
        for root in template.references:
            if root in BUILTIN_ROOTS:
                continue
            if root not in known:
                path = path + _find_reference(raw, root)
                hint = f" (sources: {', '.join(sorted(known))})" if known else ""
                self.problem(
                    path,
                    f"unknown reference ${root}: no data source of this endpoint is called '{root}'{hint}",
                )
            elif root == own:
                self.problem(path, f"data source '{own}' refers to itself")
            else:
                deps.add(root)
        return deps

    def build_node(
        self, ds: DataSourceSpec, path: KeyPath, known: set[str], ordered_refs: list[Template]
    ) -> SourceNode | None:
        params = self.template(ds.params if ds.params is not None else {}, path + ("params",))
        condition = self.expression(ds.condition, path + ("condition",)) if ds.condition else None
        transform = self.transform(ds.transform, path + ("transform",))
        for_each = self.expression(ds.for_each, path + ("for_each",)) if ds.for_each else None
        deps = self.check_refs(condition, path + ("condition",), known, ds.name)
        deps |= self.check_refs(for_each, path + ("for_each",), known, ds.name)
        # `as: order` names the current item inside params (and a cache key), nowhere else
        item_known = known | {ds.as_} if for_each is not None else known
        deps |= self.check_refs(params, path + ("params",), item_known, ds.name, ds.params) - {
            ds.as_
        }
        if transform is not None:
            deps |= self.check_refs(transform, path + ("transform",), known, ds.name)
        for i, dep in enumerate(ds.depends_on):
            if dep not in known:
                self.problem(path + ("depends_on", i), f"unknown data source '{dep}'")
            elif dep == ds.name:
                self.problem(path + ("depends_on", i), f"data source '{dep}' depends on itself")
            else:
                deps.add(dep)
        if ds.on_error.startswith("fallback:"):
            target = ds.on_error.split(":", 1)[1].strip()
            if target not in known or target == ds.name:
                self.problem(
                    path + ("on_error",),
                    f"fallback source '{target}' is not another data source of this endpoint",
                )
            else:
                deps.add(target)  # its output must be ready when this source fails
        for t in (params, condition, for_each):
            if t is not None:
                ordered_refs.append(t)
        try:
            source_type = self.lookup(ds.type)
            if source_type is None:
                return None  # its section is invalid: reported where it is written
            operation = source_type.bind(ds)
        except BindError as exc:
            self.problem(path + ((exc.key,) if exc.key else ()), str(exc))
            return None
        except OrkestraError as exc:
            self.problem(path, str(exc))
            return None
        if (
            params is None
            or (ds.condition and condition is None)
            or (ds.for_each and for_each is None)
        ):
            return None
        timeout = ds.timeout if ds.timeout is not None else operation.timeout
        retry = _retry_policy(ds.retry, operation.retries, operation.idempotent)
        namespace = f"{self.domain.domain_id}.{path[1]}.{ds.name}"
        cache = self.cache_plan(ds.cache, namespace, path, item_known - {ds.name})
        return SourceNode(
            name=ds.name,
            type=ds.type,
            spec=ds,
            operation=operation,
            params=params,
            condition=condition,
            transform=transform,
            deps=tuple(sorted(deps)),
            timeout=timeout,
            retry=retry,
            location=self.describe(path),
            guard=_guard(ds, retry, cache),
            for_each=for_each,
        )

    def cache_plan(
        self, spec: Any, namespace: str, path: KeyPath, known: set[str]
    ) -> CachePlan | None:
        if spec is None:
            return None
        key = None
        if spec.key is not None:
            key = self.template(spec.key, path + ("cache", "key"))
            self.check_refs(key, path + ("cache", "key"), known, raw=spec.key)
        return build_cache(spec, namespace, key)

    def build_response(
        self, spec: EndpointSpec, ep_path: KeyPath, known: set[str], ordered_refs: list[Template]
    ) -> ResponsePlan | None:
        raw, key = (spec.response_mapping, "response_mapping")
        if raw is None and spec.response is not None:
            raw, key = spec.response, "response"
        template = None
        if raw is not None:
            template = self.template(raw, ep_path + (key,))
            self.check_refs(template, ep_path + (key,), known, raw=raw)
            if template is not None:
                ordered_refs.append(template)
        elif spec.endpoint_type == "direct" and not spec.data_sources:
            self.problem(ep_path, "a direct endpoint needs `response:` (or data sources)")
        primary = spec.primary_source
        if primary is not None and primary not in known:
            self.problem(ep_path + ("primary_source",), f"unknown data source '{primary}'")
        transform = self.transform(spec.transform, ep_path + ("transform",))
        if transform is not None:
            self.check_refs(transform, ep_path + ("transform",), known)
        return ResponsePlan(template, primary, transform)

    def build_route(
        self, name: str, spec: EndpointSpec, ep_path: KeyPath, refs: list[Template]
    ) -> tuple[tuple[str, ...], str]:
        referenced: list[str] = []
        for t in refs:
            for p in t.path_params:
                if p not in referenced:
                    referenced.append(p)
        if spec.path is not None:
            rel = "/" + spec.path.strip("/")
            declared = _PATH_PARAM.findall(rel)
            for p in referenced:
                if p not in declared:
                    self.problem(
                        ep_path + ("path",),
                        f"$request.path_params.{p} is used but the path has no {{{p}}} segment",
                    )
            return tuple(declared), self.base_path + (rel if rel != "/" else "")
        route = f"{self.base_path}/{self.domain.domain_id}/{name}" + "".join(
            f"/{{{p}}}" for p in referenced
        )
        return tuple(referenced), route

    def sort(
        self, nodes: dict[str, SourceNode], ep_path: KeyPath
    ) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
        sorter: TopologicalSorter[str] = TopologicalSorter({n.name: n.deps for n in nodes.values()})
        try:
            sorter.prepare()
        except CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            self.problem(
                ep_path + ("data_sources",),
                f"data sources depend on each other in a cycle: {cycle}",
            )
            return (), ()
        order: list[str] = []
        stages: list[tuple[str, ...]] = []
        while sorter.is_active():
            ready = tuple(n for n in sorter.get_ready() if n in nodes)
            stages.append(ready)
            order.extend(ready)
            sorter.done(*ready)
        return tuple(order), tuple(stages)

    def input_validator(self, spec: EndpointSpec, ep_path: KeyPath) -> Any:
        if spec.input_schema is None:
            return None
        from jsonschema import SchemaError
        from jsonschema.validators import validator_for

        cls = validator_for(spec.input_schema)
        try:
            cls.check_schema(spec.input_schema)
        except SchemaError as exc:
            self.problem(ep_path + ("input_schema",), f"not a valid JSON Schema: {exc.message}")
            return None
        return cls(spec.input_schema)


class HasReferences(Protocol):
    @property
    def references(self) -> frozenset[str]: ...


def _find_reference(raw: Any, root: str) -> KeyPath:
    """Where in a raw template `$root` is used, to point the error at its line."""
    if isinstance(raw, str):
        return ()
    items = (
        raw.items() if isinstance(raw, dict) else enumerate(raw) if isinstance(raw, list) else ()
    )
    for key, value in items:
        if isinstance(value, str) and re.search(rf"\$\{{?{re.escape(root)}\b", value):
            return (key,)
        if isinstance(value, (dict, list)):
            inner = _find_reference(value, root)
            if inner:
                return (key,) + inner
    return ()


def _guard(ds: DataSourceSpec, retry: RetryPolicy, cache: CachePlan | None) -> SourceGuard | None:
    breaker = build_breaker(ds.circuit_breaker)
    bulkhead = Bulkhead(ds.concurrency) if ds.concurrency is not None else None
    budget = RetryBudget(retry.budget) if retry.attempts > 1 else None
    if breaker is None and bulkhead is None and budget is None and cache is None:
        return None
    return SourceGuard(breaker, bulkhead, budget, cache)


def _retry_policy(spec: RetrySpec | int | None, op_retries: int, idempotent: bool) -> RetryPolicy:
    if not idempotent:
        return RetryPolicy(attempts=1)
    if spec is None:
        return RetryPolicy(attempts=1 + max(op_retries, 0))
    if isinstance(spec, int):  # `retry: 2` = two retries after the first attempt
        return RetryPolicy(attempts=1 + max(spec, 0))
    return RetryPolicy(spec.attempts, spec.backoff, spec.max_backoff, spec.budget)


def input_property_types(schema: dict[str, Any]) -> dict[str, str]:
    """Each input_schema property's JSON type (strings from URLs are converted to it)."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    out: dict[str, str] = {}
    if isinstance(props, dict):
        for name, sub in props.items():
            t = sub.get("type") if isinstance(sub, dict) else None
            if isinstance(t, list):
                t = next((x for x in t if x != "null"), None)
            out[name] = t if isinstance(t, str) else "string"
    return out
