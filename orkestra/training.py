"""Demo models that `orkestra init` and the examples train, offline, in a second or two.

- `train_iris`: scikit-learn's bundled iris data (no download), features named like the config
  keys users write (`sepal_length`, ...), string class labels (`setosa`, ...), so predictions
  read well without a `class_names` table.
- `train_credit_model`: no bundled scikit-learn dataset has credit data, so it trains on a
  synthetic but deterministic sample (numpy, fixed seed): the default risk falls with the credit
  score and the income. Features `credit_score`, `income`; classes 0 (repaid) / 1 (defaulted), so
  `$result.probabilities['1']` is the default risk that `CREDIT_OUTPUTS` turns into a score and tier.

Both save as skops (the default; loads without trusting code) or ONNX, and report progress steps
as `(message, fraction done)`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from orkestra.extras import require

Progress = Callable[[str, float], None]
ArtifactFormat = Literal["skops", "onnx"]

IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
IRIS_CLASSES = ["setosa", "versicolor", "virginica"]
CREDIT_FEATURES = ["credit_score", "income"]
# The `outputs:` template of the credit model in the brief's model_scoring example.
CREDIT_OUTPUTS = {
    "score": "round($result.probabilities['1'] * 100)",
    "risk_tier": (
        "$result.probabilities['1'] >= 0.5 ? 'high' : "
        "($result.probabilities['1'] >= 0.2 ? 'medium' : 'low')"
    ),
}


def _quiet(message: str, fraction: float) -> None:
    pass


def _pipeline() -> Any:
    pipeline = require("sklearn.pipeline", "ml")
    preprocessing = require("sklearn.preprocessing", "ml")
    linear = require("sklearn.linear_model", "ml")
    return pipeline.make_pipeline(
        preprocessing.StandardScaler(), linear.LogisticRegression(max_iter=1000)
    )


def save_model(model: Any, path: Path, fmt: ArtifactFormat, features: list[str]) -> str:
    """Write `model` atomically (a reader never sees half a file); return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if fmt == "skops":
        require("skops.io", "ml").dump(model, tmp)
    elif fmt == "onnx":
        tmp.write_bytes(_to_onnx(model, features))
    else:
        raise ValueError(f"unknown model format '{fmt}', expected skops or onnx")
    os.replace(tmp, path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _to_onnx(model: Any, features: list[str]) -> bytes:
    skl2onnx = require("skl2onnx", "ml")
    types = require("skl2onnx.common.data_types", "ml")
    onx = skl2onnx.convert_sklearn(
        model, initial_types=[("input", types.FloatTensorType([None, len(features)]))]
    )
    # One [n, k] input: record the column order so Orkestra maps features by name.
    meta = onx.metadata_props.add()
    meta.key, meta.value = "feature_names", ",".join(features)
    if hasattr(model, "classes_"):
        meta = onx.metadata_props.add()
        meta.key, meta.value = "class_labels", ",".join(str(c) for c in model.classes_)
    data: bytes = onx.SerializeToString()
    return data


def _fit_and_save(
    x: Any, y: Any, path: Path, fmt: ArtifactFormat, report: Progress, what: str
) -> dict[str, Any]:
    """Hold out a quarter, fit the pipeline, report the test accuracy, save; the shared recipe."""
    selection = require("sklearn.model_selection", "ml")
    x_train, x_test, y_train, y_test = selection.train_test_split(
        x, y, test_size=0.25, random_state=42, stratify=y
    )
    report(f"training a logistic regression on {len(x_train)} {what}", 0.3)
    model = _pipeline().fit(x_train, y_train)
    accuracy = float(model.score(x_test, y_test))
    report(f"test accuracy {accuracy:.1%} on {len(x_test)} held-out {what}", 0.7)
    features = [str(c) for c in x.columns]
    digest = save_model(model, Path(path), fmt, features)
    report(f"saved {Path(path).name}", 1.0)
    return {
        "path": str(path),
        "format": fmt,
        "features": features,
        "classes": [c.item() if hasattr(c, "item") else c for c in model.classes_],
        "accuracy": accuracy,
        "sha256": digest,
    }


def train_iris(
    path: Path, *, fmt: ArtifactFormat = "skops", progress: Progress | None = None
) -> dict[str, Any]:
    """Train a classifier of iris species; return what `orkestra init` prints and configures."""
    report = progress or _quiet
    datasets = require("sklearn.datasets", "ml")
    report("loading scikit-learn's bundled iris dataset", 0.1)
    iris = datasets.load_iris(as_frame=True)
    x = iris.data.set_axis(IRIS_FEATURES, axis=1)
    y = iris.target.map(dict(enumerate(IRIS_CLASSES)))
    return _fit_and_save(x, y, path, fmt, report, "flowers")


def credit_dataset(n: int = 2000, seed: int = 7) -> tuple[Any, Any]:
    """A deterministic synthetic credit sample: (features DataFrame, 0/1 default labels)."""
    np = require("numpy", "ml")
    pd = require("pandas", "ml")
    rng = np.random.default_rng(seed)
    credit_score = rng.integers(300, 851, n)
    income = np.round(rng.lognormal(mean=np.log(55_000), sigma=0.5, size=n), -2)
    logit = -(credit_score - 640) / 45 - (income - 55_000) / 30_000
    defaulted = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"credit_score": credit_score, "income": income}), defaulted


def train_credit_model(
    path: Path, *, fmt: ArtifactFormat = "skops", progress: Progress | None = None
) -> dict[str, Any]:
    """Train the brief's credit risk model; `CREDIT_OUTPUTS` maps its answer to score/risk_tier."""
    report = progress or _quiet
    report("generating a synthetic credit dataset (fixed seed)", 0.1)
    x, y = credit_dataset()
    return {**_fit_and_save(x, y, path, fmt, report, "customers"), "outputs": dict(CREDIT_OUTPUTS)}
