"""Differential tests against a real JavaScript engine (Node.js): "JavaScript meaning" checked, not
assumed.

Random expressions over numbers, strings and booleans are evaluated by Orkestra and by Node in one
batch. Where JavaScript meets NaN or Infinity on the way, Orkestra deliberately says null instead
(docs/expressions.md), so those expressions are left out of the comparison: a wrapper in the
JavaScript version flags every intermediate value that is not a finite number.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import struct
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest

from orkestra.expr import compile_expression
from orkestra.expr.values import format_number

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js to compare with JavaScript")

NUMBERS = ["0", "1", "2", "3", "7", "10", "100", "0.1", "0.2", "1.5", "2.5", "0.5", "123.456",
           "1e21", "1e-7", "(-1)", "(-2.5)", "(-7)", "(-0.5)", "4.35"]  # fmt: skip
STRINGS = ["''", "' '", "'0'", "'5'", "'-5'", "'1.5'", "'10'", "'9'", "'abc'", "'ABC'", "'a'",
           "'1e3'", "'0x10'", "' 12 '", "'5.'", "'.5'", "'+5'", "'1_000'", "'true'", "'-0'",
           "'12px'", "'3.5kg'", "'--5'", "' -0x1A'"]  # fmt: skip
BOOLEANS = ["true", "false"]
BINARY = ["+", "-", "*", "/", "%", "<", "<=", ">", ">=", "==", "!=", "===", "!==", "&&", "||", "??"]
UNARY_FUNCTIONS = ["Math.round", "Math.floor", "Math.ceil", "Math.abs", "Math.trunc", "parseInt",
                   "parseFloat", "String", "Number", "Boolean"]  # fmt: skip
BINARY_FUNCTIONS = ["Math.max", "Math.min"]


@dataclass(frozen=True)
class Expression:
    """The same expression written for Orkestra and, with every part checked, for JavaScript."""

    text: str
    checked: str


def leaf(rng: random.Random) -> Expression:
    text = rng.choice(NUMBERS + STRINGS + BOOLEANS)
    return Expression(text, f"__c({text})")


def generate(rng: random.Random, depth: int) -> Expression:
    if depth == 0 or rng.random() < 0.25:
        return leaf(rng)
    kind = rng.random()
    a = generate(rng, depth - 1)
    if kind < 0.55:
        b = generate(rng, depth - 1)
        op = rng.choice(BINARY)
        return Expression(f"({a.text} {op} {b.text})", f"__c({a.checked} {op} {b.checked})")
    if kind < 0.65:
        b, c = generate(rng, depth - 1), generate(rng, depth - 1)
        return Expression(
            f"({a.text} ? {b.text} : {c.text})", f"__c({a.checked} ? {b.checked} : {c.checked})"
        )
    if kind < 0.75:
        op = rng.choice(["!", "-", "+"])
        return Expression(f"{op}({a.text})", f"__c({op}({a.checked}))")
    if kind < 0.92:
        name = rng.choice(UNARY_FUNCTIONS)
        return Expression(f"{name}({a.text})", f"__c({name}({a.checked}))")
    b = generate(rng, depth - 1)
    name = rng.choice(BINARY_FUNCTIONS)
    return Expression(f"{name}({a.text}, {b.text})", f"__c({name}({a.checked}, {b.checked}))")


NODE_PROGRAM = r"""
const expressions = JSON.parse(require('fs').readFileSync(0, 'utf8'));
let finite = true;
const __c = (v) => { if (typeof v === 'number' && !Number.isFinite(v)) finite = false; return v; };
const out = expressions.map((e) => {
  finite = true;
  const value = eval(e);
  return finite ? {value: JSON.stringify(value)} : {skipped: true};
});
process.stdout.write(JSON.stringify(out));
"""


def run_node(program: str, payload: Any) -> Any:
    assert NODE is not None
    done = subprocess.run(
        [NODE, "-e", program],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,  # the assertion below shows Node's stderr
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def same(ours: Any, theirs: Any) -> bool:
    """Equal and of the same JSON type (Python's True == 1 must not hide a difference)."""
    if isinstance(ours, bool) or isinstance(theirs, bool):
        return type(ours) is type(theirs) and ours == theirs
    if isinstance(ours, (int, float)) and isinstance(theirs, (int, float)):
        return ours == theirs
    return type(ours) is type(theirs) and ours == theirs


def test_random_expressions_match_javascript() -> None:
    rng = random.Random(20240501)
    expressions = [generate(rng, rng.randint(1, 4)) for _ in range(3000)]
    results = run_node(NODE_PROGRAM, [e.checked for e in expressions])
    compared, mismatches = 0, []
    for expression, result in zip(expressions, results, strict=True):
        if result.get("skipped"):
            continue
        compared += 1
        ours = compile_expression(expression.text).evaluate({})
        theirs = json.loads(result["value"])
        if not same(ours, theirs):
            mismatches.append((expression.text, ours, theirs))
    assert mismatches == []
    assert compared > 1500  # most expressions stay finite, so the comparison is not vacuous


def random_doubles(rng: random.Random, count: int) -> list[float]:
    values: list[float] = []
    while len(values) < count:
        value = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        if math.isfinite(value):
            values.append(value)
    values += [rng.uniform(-1e6, 1e6) for _ in range(count)]
    values += [round(rng.uniform(-100, 100), rng.randint(0, 6)) for _ in range(count)]
    values += [10.0**e for e in range(-10, 25)] + [-(10.0**e) * 1.5 for e in range(-10, 25)]
    values += [0.0, -0.0, 5e-324, 1.7976931348623157e308, 2.0**53, 2.0**53 + 2, 123e-20]
    return values


def test_numbers_print_as_javascript_prints_them() -> None:
    doubles = random_doubles(random.Random(7), 2000)
    theirs = run_node(
        "process.stdout.write(JSON.stringify(JSON.parse(require('fs').readFileSync(0,'utf8'))"
        ".map(String)))",
        doubles,
    )
    mismatches = [
        (d, format_number(d), t)
        for d, t in zip(doubles, theirs, strict=True)
        if format_number(d) != t
    ]
    assert mismatches == []


def test_to_fixed_matches_javascript() -> None:
    rng = random.Random(11)
    cases = [(d, rng.randint(0, 12)) for d in random_doubles(rng, 300) if abs(d) < 1e21]
    cases += [(1.005, 2), (1.45, 1), (2.5, 0), (-2.5, 0), (-0.001, 2), (-0.0, 2), (8.345, 2)]
    theirs = run_node(
        "process.stdout.write(JSON.stringify(JSON.parse(require('fs').readFileSync(0,'utf8'))"
        ".map(([x, n]) => x.toFixed(n))))",
        cases,
    )
    ours = [compile_expression(f"$x.toFixed({n})").evaluate({"x": x}) for x, n in cases]
    mismatches = [(case, o, t) for case, o, t in zip(cases, ours, theirs, strict=True) if o != t]
    assert mismatches == []
