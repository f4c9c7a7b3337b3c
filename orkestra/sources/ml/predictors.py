"""In-process predictors: a loaded scikit-learn estimator or ONNX Runtime session behind one call.

`predict(values)` takes rows already ordered as `feature_order` and returns one JSON object per
row: classifiers `{prediction, class_name, probabilities}`, everything else `{prediction}`. It runs
in a worker thread (sklearn and onnxruntime release the GIL for their heavy parts), never on the
event loop. numpy/pandas/onnxruntime are imported by the loader, only when such a model is used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from orkestra.extras import require


class ArtifactError(Exception):
    """A model artifact that cannot (or must not) be loaded; the message is safe to show."""


class Predictor(Protocol):
    feature_order: list[str]

    def predict(self, values: list[list[Any]]) -> list[dict[str, Any]]: ...

    def describe(self) -> dict[str, Any]: ...


def to_json(value: Any) -> Any:
    """numpy scalars/arrays -> plain Python (orjson and templates want builtins)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return value


def class_name_of(
    label: Any, position: int | None, class_names: Sequence[str] | Mapping[str, str] | None
) -> str:
    """`class_names` is a list (by the label's position among the classes) or a label -> name map."""
    if isinstance(class_names, Mapping):
        return class_names.get(str(label), str(label))
    if class_names is not None and position is not None and 0 <= position < len(class_names):
        return class_names[position]
    return str(label)


def classifier_output(
    label: Any,
    classes: Sequence[Any],
    probabilities: Sequence[float],
    class_names: Sequence[str] | Mapping[str, str] | None,
) -> dict[str, Any]:
    label = to_json(label)
    keys = [str(to_json(c)) for c in classes]
    position = keys.index(str(label)) if str(label) in keys else None
    return {
        "prediction": label,
        "class_name": class_name_of(label, position, class_names),
        "probabilities": {k: float(p) for k, p in zip(keys, probabilities)},
    }


class SklearnPredictor:
    """Any estimator with `predict` (a Pipeline included); `predict_proba` makes it a classifier."""

    def __init__(
        self,
        model: Any,
        *,
        feature_order: list[str] | None,
        class_names: Sequence[str] | Mapping[str, str] | None,
    ) -> None:
        if not callable(getattr(model, "predict", None)):
            raise ArtifactError(
                f"the artifact holds a {type(model).__name__}, which has no predict()"
            )
        names = getattr(model, "feature_names_in_", None)
        trained_names = [str(n) for n in names] if names is not None else None
        if trained_names and feature_order and list(feature_order) != trained_names:
            raise ArtifactError(
                f"feature_order {feature_order} differs from the features the model was trained on "
                f"({', '.join(trained_names)}); drop feature_order or make them equal"
            )
        order = trained_names or feature_order
        if not order:
            raise ArtifactError(
                "the model has no feature names (trained on an array): set feature_order"
            )
        expected = getattr(model, "n_features_in_", None)
        if expected is not None and len(order) != int(expected):
            raise ArtifactError(
                f"feature_order has {len(order)} names, the model expects {expected} features"
            )
        self.model = model
        self.feature_order = list(order)
        self.class_names = class_names
        # A model fitted on a DataFrame checks column names (and a ColumnTransformer selects by them).
        self._pandas = require("pandas", "ml") if trained_names else None
        self._numpy = require("numpy", "ml")
        self._classes = (
            list(model.classes_)
            if hasattr(model, "predict_proba") and hasattr(model, "classes_")
            else None
        )
        self._label_is_argmax = self._classes is not None and not _proba_may_disagree(model)

    def _matrix(self, values: list[list[Any]]) -> Any:
        if self._pandas is not None:
            return self._pandas.DataFrame(values, columns=self.feature_order)
        return self._numpy.asarray(values)

    def predict(self, values: list[list[Any]]) -> list[dict[str, Any]]:
        x = self._matrix(values)
        if self._classes is None:
            return [{"prediction": to_json(v)} for v in self.model.predict(x)]
        probabilities = self.model.predict_proba(x)
        if self._label_is_argmax:
            # one pass through the model instead of two (predict would compute the same scores)
            labels = [self._classes[i] for i in probabilities.argmax(axis=1)]
        else:
            labels = self.model.predict(x)
        return [
            classifier_output(label, self._classes, row, self.class_names)
            for label, row in zip(labels, probabilities)
        ]

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"framework": "scikit-learn", "estimator": type(self.model).__name__}
        out["features"] = self.feature_order
        if self._classes is not None:
            out["classes"] = [to_json(c) for c in self._classes]
        return out


# Estimators whose predict() is not the argmax of predict_proba() (SVMs calibrate probabilities
# separately, by Platt scaling): their label comes from predict() itself.
_OWN_PREDICT = frozenset({"SVC", "NuSVC"})


def _proba_may_disagree(model: Any) -> bool:
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    return type(final).__name__ in _OWN_PREDICT or type(model).__name__ in _OWN_PREDICT


_ONNX_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


class OnnxPredictor:
    """An ONNX Runtime session. Inputs are either one tensor per feature (named like the features)
    or a single [n, k] tensor whose columns follow `feature_order` (from the config, or the model's
    `feature_names` metadata, which orkestra.training writes)."""

    def __init__(
        self,
        session: Any,
        *,
        feature_order: list[str] | None,
        class_names: Sequence[str] | Mapping[str, str] | None,
    ) -> None:
        self._np = require("numpy", "ml")
        self.session = session
        self.class_names = class_names
        inputs = session.get_inputs()
        meta = session.get_modelmeta().custom_metadata_map
        self._single: str | None = None
        if len(inputs) == 1:
            order = feature_order or _split(meta.get("feature_names"))
            width = inputs[0].shape[-1] if len(inputs[0].shape) > 1 else 1
            if not order:
                if width != 1:
                    raise ArtifactError(
                        f"the ONNX model takes one input '{inputs[0].name}' of {width} columns and "
                        "has no feature_names metadata: set feature_order"
                    )
                order = [inputs[0].name]
            if isinstance(width, int) and width != len(order):
                raise ArtifactError(
                    f"feature_order has {len(order)} names, the ONNX input has {width} columns"
                )
            self._single = inputs[0].name
        else:
            names = [i.name for i in inputs]
            if feature_order and sorted(feature_order) != sorted(names):
                raise ArtifactError(f"feature_order must name the ONNX inputs: {', '.join(names)}")
            order = list(feature_order or names)
        self.feature_order = list(order)
        self._dtypes = {i.name: _ONNX_DTYPES.get(i.type, "float32") for i in inputs}
        self._class_labels = _split(meta.get("class_labels"))

    def _feed(self, values: list[list[Any]]) -> dict[str, Any]:
        np = self._np
        if self._single is not None:
            return {self._single: np.asarray(values, dtype=self._dtypes[self._single])}
        return {
            name: np.asarray([[row[i]] for row in values], dtype=self._dtypes[name])
            for i, name in enumerate(self.feature_order)
        }

    def predict(self, values: list[list[Any]]) -> list[dict[str, Any]]:
        outputs = self.session.run(None, self._feed(values))
        first = self._np.asarray(outputs[0]).reshape(len(values), -1)
        if len(outputs) < 2:
            return [
                {"prediction": to_json(row[0]) if len(row) == 1 else to_json(row)} for row in first
            ]
        labels, probabilities = first[:, 0], outputs[1]
        results = []
        for label, probs in zip(labels, probabilities):
            if isinstance(probs, Mapping):  # skl2onnx's ZipMap: one {label: p} per row
                classes, row = list(probs.keys()), list(probs.values())
            else:
                row = [float(p) for p in probs]
                classes = self._class_labels or [str(i) for i in range(len(row))]
            results.append(classifier_output(label, classes, row, self.class_names))
        return results

    def describe(self) -> dict[str, Any]:
        return {"framework": "onnx", "features": self.feature_order}


def _split(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]
