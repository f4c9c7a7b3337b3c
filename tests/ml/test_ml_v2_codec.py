"""The Open Inference Protocol codec and the params -> rows normalization, as pure functions."""

from __future__ import annotations

import pytest

from orkestra.errors import RequestError
from orkestra.sources.ml.features import extract_rows, ordered_values
from orkestra.sources.ml.v2 import V2ProtocolError, decode_response, encode_request


def test_one_tensor_per_feature_with_inferred_datatypes() -> None:
    rows = extract_rows(
        {
            "features": [
                {"age": 41, "income": 52000.5, "city": "Lyon", "vip": True},
                {"age": 29, "income": 31000, "city": "Nantes", "vip": False},
            ]
        },
        "m",
    )
    request = encode_request(rows, model_id="m", feature_order=None, input_name=None, datatype=None)
    assert request == {
        "inputs": [
            {"name": "age", "shape": [2, 1], "datatype": "INT64", "data": [41, 29]},
            {"name": "income", "shape": [2, 1], "datatype": "FP64", "data": [52000.5, 31000.0]},
            {"name": "city", "shape": [2, 1], "datatype": "BYTES", "data": ["Lyon", "Nantes"]},
            {"name": "vip", "shape": [2, 1], "datatype": "BOOL", "data": [True, False]},
        ]
    }


def test_feature_order_selects_and_orders_the_tensors() -> None:
    rows = extract_rows({"b": 2, "a": 1, "ignored": "x"}, "m")
    request = encode_request(
        rows, model_id="m", feature_order=["a", "b"], input_name=None, datatype="FP32"
    )
    assert [(t["name"], t["datatype"], t["data"]) for t in request["inputs"]] == [
        ("a", "FP32", [1.0]),
        ("b", "FP32", [2.0]),
    ]


def test_single_tensor_is_row_major_in_feature_order() -> None:
    rows = extract_rows({"features": [{"y": 2, "x": 1}, {"x": 3, "y": 4}]}, "m")
    request = encode_request(
        rows, model_id="m", feature_order=["x", "y"], input_name="input-0", datatype=None
    )
    assert request == {
        "inputs": [{"name": "input-0", "shape": [2, 2], "datatype": "INT64", "data": [1, 2, 3, 4]}]
    }


def test_positional_rows_need_feature_order_to_name_tensors() -> None:
    rows = extract_rows({"features": [1.0, 2.0]}, "m")
    with pytest.raises(RequestError, match="feature_order"):
        encode_request(rows, model_id="m", feature_order=None, input_name=None, datatype=None)
    named = encode_request(
        rows, model_id="m", feature_order=["a", "b"], input_name=None, datatype=None
    )
    assert [t["name"] for t in named["inputs"]] == ["a", "b"]


def test_missing_feature_in_a_tensor_is_named() -> None:
    rows = extract_rows({"features": {"x": 1}}, "m")
    with pytest.raises(RequestError, match="'y'") as info:
        encode_request(rows, model_id="m", feature_order=["x", "y"], input_name="t", datatype=None)
    assert info.value.status == 422


def test_outputs_split_into_rows() -> None:
    body = {
        "model_name": "iris",
        "outputs": [
            {"name": "label", "shape": [2], "datatype": "BYTES", "data": ["setosa", "virginica"]},
            {
                "name": "proba",
                "shape": [2, 3],
                "datatype": "FP64",
                "data": [[0.9, 0.05, 0.05], [0.1, 0.2, 0.7]],
            },
            {"name": "score", "shape": [2, 1], "datatype": "FP32", "data": [0.5, 0.25]},
        ],
    }
    assert decode_response(body, 2) == [
        {"label": "setosa", "proba": [0.9, 0.05, 0.05], "score": 0.5},
        {"label": "virginica", "proba": [0.1, 0.2, 0.7], "score": 0.25},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": "boom"}, "no `outputs`"),
        ({"outputs": [{"shape": [1], "data": [1]}]}, "lacks `name`"),
        (
            {"outputs": [{"name": "p", "shape": [3], "data": [1, 2, 3]}]},
            "shape [3] for 2 input row(s)",
        ),
    ],
)
def test_malformed_responses_are_protocol_errors(body: object, message: str) -> None:
    with pytest.raises(V2ProtocolError) as info:
        decode_response(body, 2)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("params", "batch", "positional"),
    [
        ({"features": {"a": 1}}, False, False),
        ({"a": 1, "b": 2}, False, False),
        ({"features": [{"a": 1}, {"a": 2}]}, True, False),
        ({"features": [1, 2]}, False, True),
        ({"features": [[1, 2], [3, 4]]}, True, True),
        ([{"a": 1}], True, False),
    ],
)
def test_params_shapes(params: object, batch: bool, positional: bool) -> None:
    rows = extract_rows(params, "m")
    assert (rows.batch, rows.positional) == (batch, positional)


@pytest.mark.parametrize(
    "params", [None, {}, {"features": []}, {"features": [{"a": 1}, [1]]}, "text", 3]
)
def test_unusable_params_are_422(params: object) -> None:
    with pytest.raises(RequestError) as info:
        extract_rows(params, "scoring/default")
    assert info.value.status == 422 and "scoring/default" in str(info.value)


def test_positional_rows_must_have_every_feature() -> None:
    rows = extract_rows({"features": [1, 2]}, "m")
    with pytest.raises(RequestError, match="expected 3 feature values"):
        ordered_values(rows, ["a", "b", "c"], "m")
    assert ordered_values(rows, ["a", "b"], "m") == [[1, 2]]
