"""The expression and template language (SPEC §4): parse once at load time, evaluate per request.

    compile_template(value)   any YAML value; strings become expressions or interpolated text
    compile_expression(text)  exactly one expression (conditions, filters, transforms)
    Template.evaluate(scope)  scope maps root names ("request", "system", a source's name) to values
    truthy(value)             JavaScript truthiness, for whoever decides on an evaluated condition

See docs/expressions.md for the language.
"""

from orkestra.expr.errors import EvaluationError as EvaluationError
from orkestra.expr.errors import ExpressionError as ExpressionError
from orkestra.expr.template import Scope as Scope
from orkestra.expr.template import Template as Template
from orkestra.expr.template import compile_expression as compile_expression
from orkestra.expr.template import compile_template as compile_template
from orkestra.expr.values import truthy as truthy

__all__ = [
    "EvaluationError",
    "ExpressionError",
    "Scope",
    "Template",
    "compile_expression",
    "compile_template",
    "truthy",
]
