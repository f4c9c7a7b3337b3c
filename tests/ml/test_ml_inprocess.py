"""In-process artifacts: skops and ONNX models predict through the source exactly as the model does,
pickles are refused unless trusted and hash-pinned, and predicting never stalls the event loop."""

from __future__ import annotations

import asyncio
import hashlib
import pickle
import statistics
import time
from pathlib import Path
from typing import Any

import joblib
import pytest

from orkestra.errors import RequestError, SourceUnavailable
from orkestra.sources.base import ComponentState
from orkestra.training import IRIS_CLASSES, IRIS_FEATURES, save_model
from tests.ml.conftest import CTX, MakeML, bind
from tests.ml.ml_support import reference


def local(path: str | Path, **source: Any) -> dict[str, Any]:
    return {
        "models": {"default": {"source": {"type": "local_artifact", "path": str(path), **source}}}
    }


def assert_matches(
    outputs: list[dict[str, Any]], labels: list[Any], probabilities: list[list[float]], tol: float
) -> None:
    assert [o["prediction"] for o in outputs] == labels
    for output, probs in zip(outputs, probabilities):
        assert list(output["probabilities"]) == IRIS_CLASSES
        assert list(output["probabilities"].values()) == pytest.approx(probs, abs=tol)


async def test_skops_predictions_equal_the_models_own(
    make_ml: MakeML, iris_model: Any, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml({"default": local("models/iris.skops")})
    assert ml.status()["default/default"].state is ComponentState.READY
    op = bind(ml, operation="predict")  # unknown operation -> the `default` model
    outputs = [await op.call({"features": row}, CTX) for row in iris_rows]
    labels, probabilities = reference(iris_model, iris_rows)
    assert_matches(outputs, labels, probabilities, tol=1e-12)
    assert {o["class_name"] for o in outputs} == set(IRIS_CLASSES)
    assert all(o["class_name"] == o["prediction"] for o in outputs)


async def test_batch_returns_one_output_per_row(
    make_ml: MakeML, iris_model: Any, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml({"default": local("models/iris.skops")})
    outputs = await bind(ml).call({"features": iris_rows}, CTX)
    assert isinstance(outputs, list) and len(outputs) == len(iris_rows)
    assert_matches(outputs, *reference(iris_model, iris_rows), tol=1e-12)
    single_batch = await bind(ml).call({"features": iris_rows[:1]}, CTX)
    assert isinstance(single_batch, list) and len(single_batch) == 1


async def test_flat_and_positional_rows(
    make_ml: MakeML, iris_model: Any, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml({"default": local("models/iris.skops")})
    row = iris_rows[7]
    by_name = await bind(ml).call({"features": row}, CTX)
    assert await bind(ml).call(dict(row), CTX) == by_name
    positional = await bind(ml).call({"features": [row[f] for f in IRIS_FEATURES]}, CTX)
    assert positional == by_name


async def test_missing_feature_is_a_422_naming_it(
    make_ml: MakeML, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml({"default": local("models/iris.skops")})
    row = {k: v for k, v in iris_rows[0].items() if k != "petal_width"}
    with pytest.raises(RequestError) as info:
        await bind(ml).call({"features": row}, CTX)
    assert info.value.status == 422
    assert "petal_width" in str(info.value)
    with pytest.raises(RequestError, match="row 1"):
        await bind(ml).call({"features": [iris_rows[0], row]}, CTX)
    with pytest.raises(RequestError, match="cannot use these features"):
        await bind(ml).call({"features": {**iris_rows[0], "sepal_length": "long"}}, CTX)


async def test_onnx_converted_at_test_time_matches_sklearn(
    make_ml: MakeML,
    models_dir: Path,
    iris_model: Any,
    iris_rows: list[dict[str, float]],
    tmp_path: Path,
) -> None:
    path = tmp_path / "iris_converted.onnx"
    save_model(iris_model, path, "onnx", IRIS_FEATURES)  # skl2onnx, feature_names metadata
    ml = await make_ml({"default": local(path)})
    assert ml.status()["default/default"].state is ComponentState.READY, ml.status()
    outputs = await bind(ml).call({"features": iris_rows}, CTX)
    # ONNX Runtime computes in float32: labels equal, probabilities to float32 precision.
    assert_matches(outputs, *reference(iris_model, iris_rows), tol=1e-5)


async def test_onnx_probability_tensor_with_configured_order_and_names(
    make_ml: MakeML, iris_model: Any, iris_rows: list[dict[str, float]], tmp_path: Path
) -> None:
    """A plain conversion: no metadata, probabilities as a [n, 3] tensor (no ZipMap), so the
    config gives the column order and the class names."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    onx = convert_sklearn(
        iris_model,
        initial_types=[("x", FloatTensorType([None, 4]))],
        options={id(iris_model.steps[-1][1]): {"zipmap": False}},
    )
    path = tmp_path / "plain.onnx"
    path.write_bytes(onx.SerializeToString())
    unconfigured = await make_ml({"default": local(path)})
    status = unconfigured.status()["default/default"]
    assert status.state is ComponentState.FAILED and "feature_order" in (status.error or "")

    ml = await make_ml(
        {
            "default": {
                "models": {
                    "default": {
                        "feature_order": IRIS_FEATURES,
                        "class_names": IRIS_CLASSES,
                        "source": {"type": "local_artifact", "path": str(path)},
                    }
                }
            }
        }
    )
    outputs = await bind(ml).call({"features": iris_rows}, CTX)
    labels, probabilities = reference(iris_model, iris_rows)
    assert [o["prediction"] for o in outputs] == labels
    for output, probs in zip(outputs, probabilities):
        assert list(output["probabilities"].values()) == pytest.approx(probs, abs=1e-5)
        assert output["class_name"] == output["prediction"]


async def test_skops_types_outside_the_safe_list_need_trusted_types(
    make_ml: MakeML, iris_rows: list[dict[str, float]], tmp_path: Path
) -> None:
    import pandas as pd
    import skops.io as sio
    from sklearn.ensemble import RandomForestClassifier

    frame = pd.DataFrame(iris_rows)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(
        frame, list(range(len(iris_rows)))
    )
    path = tmp_path / "forest.skops"
    sio.dump(forest, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert untrusted, (
        "a forest holds sklearn.tree._tree.Tree, which skops does not trust by default"
    )

    refused = await make_ml({"default": local(path)})
    status = refused.status()["default/default"]
    assert status.state is ComponentState.FAILED
    assert untrusted[0] in (status.error or "") and "trusted_types" in (status.error or "")
    with pytest.raises(SourceUnavailable) as info:
        await bind(refused).call({"features": iris_rows[0]}, CTX)
    assert info.value.status == 503 and "default/default" in str(info.value)

    trusted = await make_ml({"default": local(path, trusted_types=untrusted)})
    outputs = await bind(trusted).call({"features": iris_rows}, CTX)
    assert [o["prediction"] for o in outputs] == forest.predict(frame).tolist()


@pytest.fixture
def pickles(iris_model: Any, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    joblib_path, pickle_path = tmp_path / "iris.joblib", tmp_path / "iris.pkl"
    joblib.dump(iris_model, joblib_path)
    pickle_path.write_bytes(pickle.dumps(iris_model))
    return {
        p.suffix: (p, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in (joblib_path, pickle_path)
    }


@pytest.mark.parametrize("suffix", [".joblib", ".pkl"])
async def test_pickles_need_trust_and_a_matching_sha256(
    make_ml: MakeML,
    pickles: dict[str, tuple[Path, str]],
    suffix: str,
    iris_model: Any,
    iris_rows: list[dict[str, float]],
) -> None:
    path, digest = pickles[suffix]
    wrong = hashlib.sha256(b"another file").hexdigest()
    ml = await make_ml(
        {
            "untrusted": local(path),
            "no_hash": local(path, trusted=True),
            "hash_only": local(path, sha256=digest),
            "wrong_hash": local(path, trusted=True, sha256=wrong),
            "pinned": local(path, trusted=True, sha256=digest.upper()),
        }
    )
    status = ml.status()
    for refused in ("untrusted", "no_hash", "hash_only"):
        assert status[f"{refused}/default"].state is ComponentState.FAILED
        assert "execute code" in (status[f"{refused}/default"].error or "")
    assert status["wrong_hash" + "/default"].state is ComponentState.FAILED
    assert "does not match" in (status["wrong_hash/default"].error or "")
    with pytest.raises(SourceUnavailable, match="wrong_hash/default"):
        await bind(ml, "wrong_hash").call({"features": iris_rows[0]}, CTX)

    assert status["pinned/default"].state is ComponentState.READY
    outputs = await bind(ml, "pinned").call({"features": iris_rows}, CTX)
    assert_matches(outputs, *reference(iris_model, iris_rows), tol=1e-12)


async def test_a_model_that_fails_to_load_leaves_the_others_serving(
    make_ml: MakeML, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml(
        {
            "scoring": {
                "models": {
                    "broken": {
                        "source": {"type": "local_artifact", "path": "models/missing.skops"}
                    },
                    "iris": {"source": {"type": "local_artifact", "path": "models/iris.skops"}},
                }
            }
        }
    )
    status = ml.status()
    assert status["scoring/broken"].state is ComponentState.FAILED
    assert "not found" in (status["scoring/broken"].error or "")
    assert status["scoring/iris"].state is ComponentState.READY
    assert status["scoring/iris"].as_dict()["features"] == IRIS_FEATURES
    with pytest.raises(SourceUnavailable) as info:
        await bind(ml, "scoring", "broken").call({"features": iris_rows[0]}, CTX)
    assert info.value.status == 503 and "scoring/broken" in str(info.value)
    assert (await bind(ml, "scoring", "iris").call({"features": iris_rows[0]}, CTX))[
        "prediction"
    ] == "setosa"


async def test_predicting_under_load_keeps_the_event_loop_responsive(
    make_ml: MakeML, iris_model: Any, iris_rows: list[dict[str, float]]
) -> None:
    ml = await make_ml({"default": {"workers": 2, **local("models/iris.skops")}})
    op = bind(ml)
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        # Each tick asks to wake 10 ms later; how much later it really wakes is the loop's lag.
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - before - 0.01)

    await op.call({"features": iris_rows[0]}, CTX)  # warm: the pool's threads, first-use imports
    tick = asyncio.create_task(ticker())
    # enough rows that the ticker samples the loop many times (a median of 4 samples was noise)
    rows = [iris_rows[i % len(iris_rows)] for i in range(800)]
    outputs = await asyncio.gather(*(op.call({"features": row}, CTX) for row in rows))
    stop.set()
    await tick
    labels, _ = reference(iris_model, rows)
    assert [o["prediction"] for o in outputs] == labels
    assert len(lags) >= 10, "the ticker must have run while the predictions did"
    # Predicting on the loop would block it for the whole run (seconds, a handful of ticks). In
    # the pool, a tick waits at most for the GIL to be handed over; the bounds are coarse because
    # this 2-core machine is shared (its idle loop already shows stalls of tens of ms).
    assert statistics.median(lags) < 0.1, (
        f"typical tick delayed {statistics.median(lags) * 1000:.0f} ms"
    )
    assert max(lags) < 1.0, f"event loop stalled {max(lags) * 1000:.0f} ms"


async def test_onnx_with_one_input_per_feature(make_ml: MakeML, tmp_path: Path) -> None:
    """A hand-built ONNX regressor taking `credit_score` and `income` as separate [n, 1] inputs."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weights = np.array([[0.5], [0.001]], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Concat", ["credit_score", "income"], ["x"], axis=1),
            helper.make_node("MatMul", ["x", "w"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["variable"]),
        ],
        "linear",
        [
            helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, 1])
            for name in ("credit_score", "income")
        ],
        [helper.make_tensor_value_info("variable", TensorProto.FLOAT, [None, 1])],
        initializer=[
            numpy_helper.from_array(weights, "w"),
            numpy_helper.from_array(np.array([1.0], dtype=np.float32), "b"),
        ],
    )
    path = tmp_path / "linear.onnx"
    path.write_bytes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    )
    ml = await make_ml({"default": local(path)})
    rows = [{"income": 40000, "credit_score": 700}, {"credit_score": 500, "income": 10000}]
    outputs = await bind(ml).call({"features": rows}, CTX)
    assert outputs == [
        {"prediction": pytest.approx(0.5 * 700 + 40 + 1)},
        {"prediction": pytest.approx(0.5 * 500 + 10 + 1)},
    ]
    with pytest.raises(RequestError, match="'income'"):
        await bind(ml).call({"features": {"credit_score": 700}}, CTX)
