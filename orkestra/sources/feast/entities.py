"""Turn a data source's evaluated params into the entity columns of one Feast read.

Accepted shapes (`entity_key` is the source's configured join key for bare values):

    {iris_id: 3}                       one entity      -> output is one object
    {iris_id: [1, 2, 3]}               many entities   -> output is a list, same order
    [{iris_id: 1}, {iris_id: 2}]       many entities (rows)
    3  /  [1, 2, 3]                    with `entity_key` set
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orkestra.errors import RequestError

_SCALARS = (str, int, float)

Fail = Callable[[str], RequestError]


@dataclass(frozen=True)
class EntityRequest:
    columns: dict[str, list[Any]]  # join key -> one value per entity, all the same length
    many: bool  # the caller gave a list: answer with a list

    @property
    def size(self) -> int:
        return len(next(iter(self.columns.values()), []))


def _is_scalar(value: Any) -> bool:
    # bool is an int subclass, but True is never a meaningful entity key.
    return isinstance(value, _SCALARS) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def parse_entities(params: Any, entity_key: str | None, source: str) -> EntityRequest:
    """Validate `params`; raise RequestError (422) naming `source` when they are not entity keys."""

    def fail(problem: str) -> RequestError:
        return RequestError(f"feast source '{source}': {problem}")

    if isinstance(params, Mapping):
        return _from_mapping(params, fail)
    if _is_list(params) and params and all(isinstance(row, Mapping) for row in params):
        return _from_rows(params, fail)
    if entity_key is None:
        raise fail("params must map join keys to values (or set `entity_key` for bare values)")
    if _is_list(params):
        values = list(params)
        _check_values(entity_key, values, fail)
        return EntityRequest({entity_key: values}, many=True)
    if _is_scalar(params):
        return EntityRequest({entity_key: [params]}, many=False)
    raise fail(f"entity key '{entity_key}' is missing or not a string or number")


def _check_values(key: str, values: Sequence[Any], fail: Fail) -> None:
    for value in values:
        if not _is_scalar(value):
            raise fail(f"entity key '{key}' has a value that is not a string or number")


def _from_mapping(params: Mapping[str, Any], fail: Fail) -> EntityRequest:
    if not params:
        raise fail("no entity keys in params")
    lists = {key: _is_list(value) for key, value in params.items()}
    if all(lists.values()):
        columns = {str(key): list(value) for key, value in params.items()}
        if len({len(v) for v in columns.values()}) > 1:
            raise fail("entity key lists have different lengths")
        for key, values in columns.items():
            _check_values(key, values, fail)
        return EntityRequest(columns, many=True)
    if any(lists.values()):
        raise fail("give every entity key as a list, or every one as a single value")
    for key, value in params.items():
        _check_values(str(key), [value], fail)
    return EntityRequest({str(key): [value] for key, value in params.items()}, many=False)


def _from_rows(rows: Sequence[Mapping[str, Any]], fail: Fail) -> EntityRequest:
    keys = list(rows[0])
    columns: dict[str, list[Any]] = {str(key): [] for key in keys}
    for row in rows:
        if set(row) != set(keys):
            raise fail("every entity row must have the same keys")
        for key in keys:
            columns[str(key)].append(row[key])
    for key, values in columns.items():
        _check_values(key, values, fail)
    return EntityRequest(columns, many=True)
