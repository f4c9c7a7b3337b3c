"""The broken-config corpus: each case is a config directory that must be refused with the file
and line of its mistake. `where` is the `file:line` the first problem must start with."""

from __future__ import annotations

from dataclasses import dataclass, field

MEMORY = """\
memory:
  sources:
    default:
      operations:
        a: {response: {x: 1}}
        b: {response: {y: 2}}
"""


@dataclass(frozen=True)
class Case:
    name: str
    files: dict[str, str]
    where: str  # "domains/d.yaml:4"
    says: str = ""  # a fragment of the message
    env: dict[str, str] = field(default_factory=dict)


def domain(body: str) -> dict[str, str]:
    """A domain file `domains/d.yaml` whose first line is `endpoints:` (line numbers start there)."""
    return {"integrations/memory.yaml": MEMORY, "domains/d.yaml": "endpoints:\n" + body}


def source(lines: str) -> dict[str, str]:
    """One endpoint `e` with one data source; `lines` continue the source at line 5."""
    return domain("  e:\n    data_sources:\n      - name: s\n        type: memory\n" + lines)


def settings(text: str) -> dict[str, str]:
    return {
        "config.yaml": text,
        **domain("  e:\n    endpoint_type: direct\n    response: {a: 1}\n"),
    }


D = "domains/d.yaml"
C = "config.yaml"

CASES: list[Case] = [
    # -- YAML itself -----------------------------------------------------------------------------
    Case("unclosed_flow_mapping", domain("  e:\n    response: {a: 1\n"), D, "invalid YAML"),
    Case(
        "bad_indentation",
        domain("  e:\n    endpoint_type: direct\n   response: {a: 1}\n"),
        D,
        "invalid YAML",
    ),
    Case("tab_indentation", domain("  e:\n\tresponse: {a: 1}\n"), D, "invalid YAML"),
    Case("python_object_tag", domain("  e: !!python/object/apply:os.system ['true']\n"), D),
    Case("top_level_list", {"domains/d.yaml": "- endpoints\n- e\n"}, D),
    Case(
        "config_yaml_not_mapping",
        {
            "config.yaml": "just text\n",
            **domain("  e: {endpoint_type: direct, response: {a: 1}}\n"),
        },
        C,
    ),
    Case(
        "integration_not_mapping",
        {"integrations/memory.yaml": "[1, 2]\n", "domains/d.yaml": "endpoints: {}\n"},
        "integrations/memory.yaml",
    ),
    Case("unterminated_string", domain('  e:\n    response: {a: "open}\n'), D, "invalid YAML"),
    # -- config.yaml ---------------------------------------------------------------------------
    Case("port_not_a_number", settings("server:\n  port: abc\n"), f"{C}:2", "server.port"),
    Case("port_out_of_range", settings("server:\n  port: 70000\n"), f"{C}:2", "server.port"),
    Case("log_format_unknown", settings("server:\n  log_format: xml\n"), f"{C}:2", "log_format"),
    Case("body_limit_zero", settings("server:\n  max_body_bytes: 0\n"), f"{C}:2", "max_body_bytes"),
    Case("workers_zero", settings("server:\n  workers: 0\n"), f"{C}:2", "workers"),
    Case(
        "tracking_store_unknown",
        settings("tracking:\n  store: mongo\n"),
        f"{C}:2",
        "tracking.store",
    ),
    Case(
        "jwt_secret_short",
        settings("auth:\n  jwt: {algorithms: [HS256], secret: abc}\n"),
        f"{C}:2",
        "32 characters",
    ),
    Case(
        "jwt_algorithm_unknown",
        settings("auth:\n  jwt: {algorithms: [XX999], secret: abc}\n"),
        f"{C}:2",
        "algorithms",
    ),
    Case(
        "api_key_short",
        settings("auth:\n  api_keys:\n    - {name: a, key: short}\n"),
        f"{C}:3",
        "16 characters",
    ),
    Case(
        "api_key_hash_not_hex",
        settings("auth:\n  api_keys:\n    - {name: a, key_sha256: nothex}\n"),
        f"{C}:3",
        "key_sha256",
    ),
    Case(
        "rate_limit_zero",
        settings("auth:\n  rate_limit: {requests: 0}\n"),
        f"{C}:2",
        "rate_limit.requests",
    ),
    Case(
        "missing_env_var",
        settings("app:\n  name: ${ORKESTRA_CORPUS_UNSET_VAR}\n"),
        f"{C}:2",
        "ORKESTRA_CORPUS_UNSET_VAR",
    ),
    # -- endpoints -----------------------------------------------------------------------------
    Case("endpoints_is_a_list", {"domains/d.yaml": "endpoints:\n  - e\n"}, f"{D}:1", "endpoints"),
    Case(
        "endpoint_type_unknown",
        domain("  e:\n    endpoint_type: graphql\n"),
        f"{D}:3",
        "endpoint_type",
    ),
    Case(
        "http_method_unknown",
        domain("  e:\n    method: fetch\n    endpoint_type: direct\n    response: {a: 1}\n"),
        f"{D}:2",
        "FETCH",
    ),
    Case(
        "direct_without_response", domain("  e:\n    endpoint_type: direct\n"), f"{D}:2", "response"
    ),
    Case(
        "primary_source_unknown",
        domain(
            "  e:\n    primary_source: ghost\n    data_sources: [{name: s, type: memory, operation: a}]\n"
        ),
        f"{D}:3",
        "ghost",
    ),
    Case(
        "input_schema_invalid",
        domain(
            "  e:\n    input_schema: {type: 5}\n    endpoint_type: direct\n    response: {a: 1}\n"
        ),
        f"{D}:3",
        "JSON Schema",
    ),
    Case(
        "path_missing_param",
        domain(
            '  e:\n    path: /things\n    endpoint_type: direct\n    response: {id: "$request.path_params.id"}\n'
        ),
        f"{D}:3",
        "{id}",
    ),
    Case(
        "duplicate_route",
        domain(
            "  e:\n    path: /x\n    endpoint_type: direct\n    response: {a: 1}\n  f:\n    path: /x\n    endpoint_type: direct\n    response: {a: 2}\n"
        ),
        f"{D}:6",
        "already served",
    ),
    Case(
        "endpoint_timeout_negative",
        domain("  e:\n    timeout: -1\n    endpoint_type: direct\n    response: {a: 1}\n"),
        f"{D}:3",
        "timeout",
    ),
    Case(
        "response_unknown_reference",
        domain('  e:\n    endpoint_type: direct\n    response: {a: "$nope"}\n'),
        f"{D}:4",
        "$nope",
    ),
    Case(
        "response_bad_function",
        domain('  e:\n    endpoint_type: direct\n    response: {a: "nosuchfn($request.body)"}\n'),
        f"{D}:4",
        "nosuchfn",
    ),
    Case(
        "endpoint_transform_unknown_step",
        domain(
            "  e:\n    endpoint_type: direct\n    response: {a: 1}\n    transform: [{explode: 1}]\n"
        ),
        f"{D}:5",
        "explode",
    ),
    Case(
        "endpoint_cache_ttl_zero",
        domain("  e:\n    endpoint_type: direct\n    response: {a: 1}\n    cache: {ttl: 0}\n"),
        f"{D}:5",
        "ttl",
    ),
    Case(
        "endpoint_auth_without_auth_section",
        domain("  e:\n    endpoint_type: direct\n    response: {a: 1}\n    auth: {scopes: [x]}\n"),
        f"{D}:2",
        "auth",
    ),
    # -- data sources --------------------------------------------------------------------------
    Case(
        "data_sources_not_a_list",
        domain("  e:\n    data_sources: {name: s}\n"),
        f"{D}:3",
        "data_sources",
    ),
    Case(
        "source_without_name",
        domain("  e:\n    data_sources:\n      - type: memory\n        operation: a\n"),
        f"{D}:4",
        "name",
    ),
    Case(
        "source_name_not_identifier",
        source("        operation: a\n").copy()
        | {
            "domains/d.yaml": "endpoints:\n  e:\n    data_sources:\n      - name: bad-name\n        type: memory\n        operation: a\n"
        },
        f"{D}:4",
        "identifier",
    ),
    Case(
        "duplicate_source_names",
        domain(
            "  e:\n    data_sources:\n      - {name: s, type: memory, operation: a}\n      - {name: s, type: memory, operation: b}\n"
        ),
        f"{D}:5",
        "duplicate",
    ),
    Case(
        "source_type_unknown",
        domain("  e:\n    data_sources:\n      - {name: s, type: teleport, operation: a}\n"),
        f"{D}:4",
        "teleport",
    ),
    Case("operation_unknown", source("        operation: zzz\n"), f"{D}:6", "zzz"),
    Case(
        "source_id_unknown",
        source("        source_id: nowhere\n        operation: a\n"),
        f"{D}:6",
        "nowhere",
    ),
    Case(
        "params_unknown_reference",
        source('        operation: a\n        params: {v: "$ghost.x"}\n'),
        f"{D}:7",
        "$ghost",
    ),
    Case(
        "self_reference",
        source('        operation: a\n        params: {v: "$s.x"}\n'),
        f"{D}:7",
        "itself",
    ),
    Case(
        "cycle",
        domain(
            '  e:\n    data_sources:\n      - {name: a, type: memory, operation: a, params: {v: "$b.y"}}\n      - {name: b, type: memory, operation: b, params: {v: "$a.x"}}\n'
        ),
        f"{D}:3",
        "cycle",
    ),
    Case(
        "depends_on_unknown",
        source("        operation: a\n        depends_on: [ghost]\n"),
        f"{D}:7",
        "ghost",
    ),
    Case(
        "condition_syntax",
        source('        operation: a\n        condition: "$request.method =="\n'),
        f"{D}:7",
        "invalid expression",
    ),
    Case(
        "on_error_unknown",
        source("        operation: a\n        on_error: explode\n"),
        f"{D}:7",
        "on_error",
    ),
    Case(
        "fallback_unknown",
        source('        operation: a\n        on_error: "fallback: ghost"\n'),
        f"{D}:7",
        "ghost",
    ),
    Case(
        "source_timeout_zero",
        source("        operation: a\n        timeout: 0\n"),
        f"{D}:7",
        "timeout",
    ),
    Case(
        "retry_attempts_zero",
        source("        operation: a\n        retry: {attempts: 0}\n"),
        f"{D}:7",
        "attempts",
    ),
    Case(
        "retry_attempts_too_many",
        source("        operation: a\n        retry: {attempts: 50}\n"),
        f"{D}:7",
        "attempts",
    ),
    Case(
        "retry_budget_above_one",
        source("        operation: a\n        retry: {attempts: 2, budget: 3}\n"),
        f"{D}:7",
        "budget",
    ),
    Case(
        "breaker_rate_above_one",
        source("        operation: a\n        circuit_breaker: {failure_rate: 2}\n"),
        f"{D}:7",
        "failure_rate",
    ),
    Case(
        "breaker_threshold_zero",
        source("        operation: a\n        circuit_breaker: {failure_threshold: 0}\n"),
        f"{D}:7",
        "failure_threshold",
    ),
    Case(
        "concurrency_zero",
        source("        operation: a\n        concurrency: 0\n"),
        f"{D}:7",
        "concurrency",
    ),
    Case(
        "cache_backend_unknown",
        source("        operation: a\n        cache: {ttl: 5, backend: memcached}\n"),
        f"{D}:7",
        "backend",
    ),
    Case(
        "cache_without_ttl",
        source("        operation: a\n        cache: {key: x}\n"),
        f"{D}:7",
        "ttl",
    ),
    Case(
        "for_each_syntax",
        source('        operation: a\n        for_each: "("\n'),
        f"{D}:7",
        "invalid expression",
    ),
    Case(
        "for_each_unknown_source",
        source('        operation: a\n        for_each: "$ghost"\n'),
        f"{D}:7",
        "$ghost",
    ),
    Case(
        "for_each_concurrency_zero",
        source(
            '        operation: a\n        for_each: "$request.body.items"\n        for_each_concurrency: 0\n'
        ),
        f"{D}:8",
        "for_each_concurrency",
    ),
    Case(
        "item_name_outside_for_each",
        source('        operation: a\n        params: {v: "$item2.x"}\n'),
        f"{D}:7",
        "$item2",
    ),
    Case(
        "source_transform_unknown_step",
        source("        operation: a\n        transform: [{teleport: x}]\n"),
        f"{D}:7",
        "teleport",
    ),
    Case(
        "memory_delay_negative",
        {
            "integrations/memory.yaml": MEMORY.replace("{x: 1}}", "{x: 1}, delay: -1}"),
            "domains/d.yaml": "endpoints:\n  e:\n    data_sources: [{name: s, type: memory, operation: a}]\n",
        },
        "integrations/memory.yaml:5",
        "delay",
    ),
]
