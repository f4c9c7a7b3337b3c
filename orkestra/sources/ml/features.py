"""From a data source's params to rows of features, the one input shape every model strategy takes.

Accepted params (docs/sources/ml.md, "Params"):
    {features: {name: value}}           one row, by name
    {features: [{...}, {...}]}          a batch, by name
    {features: [v1, v2, ...]}           one row, positional (in the model's feature order)
    {features: [[...], [...]]}          a batch, positional
    {name: value, ...}                  one row: a flat mapping without a `features` key
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orkestra.errors import RequestError


@dataclass(frozen=True)
class FeatureRows:
    rows: list[Mapping[str, Any]] | list[list[Any]]
    batch: bool  # True: the caller sent a list, so the output is a list (even of one)
    positional: bool  # rows are lists in the model's feature order, not mappings

    def __len__(self) -> int:
        return len(self.rows)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def extract_rows(params: Any, model_id: str) -> FeatureRows:
    """Normalize params to rows; a malformed shape is the caller's mistake (422)."""
    features = params.get("features", params) if isinstance(params, Mapping) else params
    if isinstance(features, Mapping):
        if not features:
            raise RequestError(f"model '{model_id}': no features given")
        return FeatureRows([features], batch=False, positional=False)
    if _is_sequence(features):
        items = list(features)
        if not items:
            raise RequestError(f"model '{model_id}': the batch of features is empty")
        if all(isinstance(item, Mapping) for item in items):
            return FeatureRows(items, batch=True, positional=False)
        if all(_is_sequence(item) for item in items):
            return FeatureRows([list(item) for item in items], batch=True, positional=True)
        if not any(isinstance(item, Mapping) or _is_sequence(item) for item in items):
            return FeatureRows([items], batch=False, positional=True)
        raise RequestError(
            f"model '{model_id}': a batch must be all mappings or all lists of values"
        )
    raise RequestError(
        f"model '{model_id}': expected params `features` as a mapping of feature values "
        "or a list of them"
    )


def ordered_values(rows: FeatureRows, order: Sequence[str], model_id: str) -> list[list[Any]]:
    """Rows as lists in `order`; a missing (or null) feature is named in a 422."""
    if rows.positional:
        for values in rows.rows:
            assert isinstance(values, list)
            if len(values) != len(order):
                raise RequestError(
                    f"model '{model_id}': expected {len(order)} feature values "
                    f"({', '.join(order)}), got {len(values)}"
                )
        return [list(values) for values in rows.rows]
    out: list[list[Any]] = []
    for index, row in enumerate(rows.rows):
        assert isinstance(row, Mapping)
        missing = [name for name in order if row.get(name) is None]
        if missing:
            where = f" in row {index}" if rows.batch else ""
            raise RequestError(
                f"model '{model_id}': missing feature{'s' if len(missing) > 1 else ''} "
                f"{', '.join(repr(m) for m in missing)}{where}",
                errors=[{"loc": ["features", name], "msg": "missing or null"} for name in missing],
            )
        out.append([row[name] for name in order])
    return out


def feature_names(rows: FeatureRows) -> list[str]:
    """The names of mapping rows, in first-seen order (the v2 tensor-per-feature order)."""
    seen: dict[str, None] = {}
    for row in rows.rows:
        if isinstance(row, Mapping):
            seen.update(dict.fromkeys(row))
    return list(seen)
