"""The Open Inference Protocol (KServe / Triton / MLServer "V2") REST codec.

Request: `{"inputs": [{"name", "shape", "datatype", "data"}]}` with row-major flat `data`.
Two input layouts (docs/sources/ml.md):
  - default: one tensor per feature, named like the feature, shape [n, 1];
  - `input_name` set: one [n, k] tensor of that name, columns in `feature_order`.
Response: `{"model_name", "outputs": [{"name", "shape", "datatype", "data"}]}` -> one JSON object
per row, `{output_name: value}`; a [n] or [n, 1] output gives a scalar per row, [n, k] a list.
Pure functions, no I/O: the HTTP call lives in http_model.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orkestra.errors import RequestError
from orkestra.sources.ml.features import FeatureRows, feature_names, ordered_values


class V2ProtocolError(Exception):
    """A response that does not follow the protocol; the message is safe to show."""


def datatype_of(values: Sequence[Any]) -> str:
    """The narrowest V2 datatype holding every value (JSON has no float32, so FP64)."""
    if all(isinstance(v, bool) for v in values):
        return "BOOL"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "INT64"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


def _cast(values: list[Any], datatype: str) -> list[Any]:
    if datatype == "BYTES":
        return [v if isinstance(v, str) else str(v) for v in values]
    if datatype.startswith("FP"):
        return [float(v) for v in values]
    if datatype.startswith(("INT", "UINT")):
        return [int(v) for v in values]
    return values


def encode_request(
    rows: FeatureRows,
    *,
    model_id: str,
    feature_order: Sequence[str] | None,
    input_name: str | None,
    datatype: str | None,
) -> dict[str, Any]:
    if input_name:
        assert feature_order, "config validation requires feature_order with input_name"
        matrix = ordered_values(rows, feature_order, model_id)
        flat = [v for row in matrix for v in row]
        dt = datatype or datatype_of(flat)
        tensor = {"name": input_name, "shape": [len(matrix), len(feature_order)], "datatype": dt}
        return {"inputs": [{**tensor, "data": _cast(flat, dt)}]}
    if rows.positional and not feature_order:
        raise RequestError(
            f"model '{model_id}': positional features need `feature_order` to name the tensors"
        )
    order = list(feature_order) if feature_order else feature_names(rows)
    columns = list(zip(*ordered_values(rows, order, model_id)))
    inputs = []
    for name, column in zip(order, columns):
        dt = datatype or datatype_of(column)
        inputs.append(
            {
                "name": name,
                "shape": [len(column), 1],
                "datatype": dt,
                "data": _cast(list(column), dt),
            }
        )
    return {"inputs": inputs}


def _flatten(data: Any) -> list[Any]:
    if isinstance(data, list) and any(isinstance(d, list) for d in data):
        return [v for d in data for v in _flatten(d)]
    return data if isinstance(data, list) else [data]


def decode_response(body: Any, n_rows: int) -> list[dict[str, Any]]:
    """Split each output tensor into rows: one `{name: value}` object per input row."""
    if not isinstance(body, Mapping) or not isinstance(body.get("outputs"), list):
        raise V2ProtocolError("the response has no `outputs` list")
    rows: list[dict[str, Any]] = [{} for _ in range(n_rows)]
    for output in body["outputs"]:
        if not isinstance(output, Mapping) or "name" not in output or "data" not in output:
            raise V2ProtocolError("an output tensor lacks `name` or `data`")
        data = _flatten(output["data"])
        shape = output.get("shape") or [len(data)]
        if output.get("datatype") == "BYTES":
            data = [d.decode() if isinstance(d, bytes) else d for d in data]
        if shape[0] != n_rows or len(data) % n_rows:
            raise V2ProtocolError(
                f"output '{output['name']}' has shape {shape} for {n_rows} input row(s)"
            )
        width = len(data) // n_rows
        for i in range(n_rows):
            chunk = data[i * width : (i + 1) * width]
            rows[i][str(output["name"])] = chunk[0] if len(shape) == 1 or width == 1 else chunk
    return rows
