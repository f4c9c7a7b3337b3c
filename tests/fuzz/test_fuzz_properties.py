"""Property tests over hostile input: expressions built from the grammar's own tokens, templates
with interpolation, whole config files, and requests to a running app. Whatever the input, only
Orkestra's own errors come out (tests/expr covers raw-text expression fuzzing)."""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path
from typing import Any

import httpx
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orkestra.errors import ConfigError, OrkestraError
from orkestra.expr import compile_expression, compile_template
from orkestra.service import Orkestra

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW_FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKENS = [
    "$a",
    "$a.b",
    "$a[0]",
    "$a['k']",
    "$request.body",
    "$request.query_params.q",
    "$f.iris:x",
    "$ENV[HOME]",
    "1",
    "0",
    "-1",
    "2.5",
    "1e308",
    "'s'",
    '"t"',
    "true",
    "false",
    "null",
    "+",
    "-",
    "*",
    "/",
    "%",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "??",
    "!",
    "?",
    ":",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "len(",
    "round(",
    "max(",
    "Math.max(",
    "Object.keys(",
    "coalesce(",
    "upper(",
    "int(",
    "float(",
    "str(",
    ".length",
    " ",
]
expression_text = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map("".join)

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=6),
    ),
    lambda kids: st.one_of(
        st.lists(kids, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "k", "0"]), kids, max_size=3),
    ),
    max_leaves=8,
)
scope = st.fixed_dictionaries(
    {"a": json_values, "f": json_values, "request": json_values, "ENV": st.just({"HOME": "/h"})}
)


@FUZZ
@given(expression_text, scope)
def test_grammar_built_expressions_raise_only_orkestra_errors(
    text: str, data: dict[str, Any]
) -> None:
    try:
        compiled = compile_expression(text)
    except OrkestraError:
        return
    try:
        compiled.evaluate(data)
    except OrkestraError:
        pass


template_strings = st.one_of(
    expression_text,
    st.builds(lambda a, b: f"Hello {a} and {b}!", expression_text, expression_text),
    st.text(alphabet="$.{}[]'\"ab :?|&", max_size=20),
)
templates = st.recursive(
    st.one_of(template_strings, st.integers(), st.none(), st.booleans()),
    lambda kids: st.one_of(
        st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=4), kids, max_size=3)
    ),
    max_leaves=6,
)


@FUZZ
@given(templates, scope)
def test_templates_raise_only_orkestra_errors(raw: Any, data: dict[str, Any]) -> None:
    try:
        compiled = compile_template(raw)
    except OrkestraError:
        return
    try:
        compiled.evaluate(data)
    except OrkestraError:
        pass


# Config files: structures shaped like the dialect with hostile values, and arbitrary text.
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
source_spec = st.dictionaries(
    st.sampled_from(
        [
            "name",
            "type",
            "operation",
            "params",
            "condition",
            "depends_on",
            "transform",
            "timeout",
            "retry",
            "circuit_breaker",
            "concurrency",
            "on_error",
            "cache",
            "for_each",
            "as",
            "source_id",
        ]
    ),
    st.one_of(values, expression_text),
    max_size=8,
)
endpoint_spec = st.dictionaries(
    st.sampled_from(
        [
            "endpoint_type",
            "method",
            "methods",
            "path",
            "input_schema",
            "data_sources",
            "primary_source",
            "response_mapping",
            "response",
            "transform",
            "timeout",
            "cache",
            "auth",
        ]
    ),
    st.one_of(values, st.lists(source_spec, max_size=3), expression_text),
    max_size=6,
)
domain_doc = st.one_of(
    st.fixed_dictionaries(
        {"endpoints": st.dictionaries(st.text(min_size=1, max_size=6), endpoint_spec, max_size=3)}
    ),
    values,
)
settings_doc = st.dictionaries(
    st.sampled_from(["app", "server", "auth", "tracking", "cors", "reload", "performance"]),
    st.one_of(
        values,
        st.dictionaries(
            st.sampled_from(
                [
                    "port",
                    "name",
                    "api_base_path",
                    "jwt",
                    "api_keys",
                    "store",
                    "rate_limit",
                    "enabled",
                    "max_body_bytes",
                ]
            ),
            values,
            max_size=3,
        ),
    ),
    max_size=3,
)


def load(files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in files.items():
            path = Path(tmp, rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        try:
            Orkestra(tmp)  # loads, plans and builds the app (auth is checked there)
        except ConfigError as exc:
            for problem in exc.problems:
                assert problem.file, problem  # every problem names its file


@SLOW_FUZZ
@given(domain_doc, settings_doc)
def test_config_structures_raise_only_config_errors(domain: Any, global_settings: Any) -> None:
    load({"domains/d.yaml": yaml.safe_dump(domain), "config.yaml": yaml.safe_dump(global_settings)})


@SLOW_FUZZ
@given(st.text(alphabet=" \t\n:-[]{}!&*#|>'\"%@`,?ab01$", max_size=80))
def test_arbitrary_yaml_text_raises_only_config_errors(text: str) -> None:
    load({"domains/d.yaml": text})


APP_CONFIG = {
    "integrations/memory.yaml": """
        memory:
          sources:
            default:
              operations:
                echo: {}
        """,
    "domains/d.yaml": """
        endpoints:
          echo:
            methods: [GET, POST]
            input_schema:
              type: object
              properties: {n: {type: integer}, tags: {type: array, items: {type: string}}}
            data_sources:
              - {name: e, type: memory, operation: echo, params: {n: "$request.body.n ?? $request.query_params.n", q: "$request.query_params"}}
            response_mapping: {n: "$e.n", twice: "$e.n * 2", q: "$e.q", tags: "len($request.body.tags)"}
        """,
}


@SLOW_FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["n", "tags", "x", "$a", "__proto__"]), st.text(max_size=10), max_size=3
    ),
    st.one_of(json_values, st.binary(max_size=40)),
)
def test_requests_never_make_the_app_fail(query: dict[str, str], body: Any) -> None:
    import asyncio

    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for rel, text in APP_CONFIG.items():
                Path(tmp, rel).parent.mkdir(parents=True, exist_ok=True)
                Path(tmp, rel).write_text(textwrap.dedent(text))
            svc = Orkestra(tmp)
            async with (
                svc,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=svc.app), base_url="http://t"
                ) as c,
            ):
                kwargs: dict[str, Any] = (
                    {"content": body} if isinstance(body, bytes) else {"json": body}
                )
                for response in (
                    await c.get("/orchestrator/d/echo", params=query),
                    await c.post("/orchestrator/d/echo", params=query, **kwargs),
                ):
                    assert response.status_code < 500, response.text
                    assert "Traceback" not in response.text

    asyncio.run(run())
