"""The demo models `orkestra init` trains: offline, deterministic, with visible progress."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from orkestra.training import (
    CREDIT_FEATURES,
    IRIS_CLASSES,
    IRIS_FEATURES,
    credit_dataset,
    train_iris,
)


def test_train_iris_reports_progress_and_saves_a_safe_skops_model(tmp_path: Path) -> None:
    import skops.io as sio

    steps: list[tuple[str, float]] = []
    path = tmp_path / "nested" / "iris.skops"
    info = train_iris(path, progress=lambda message, fraction: steps.append((message, fraction)))
    fractions = [f for _, f in steps]
    assert len(steps) >= 3 and fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("accuracy" in message for message, _ in steps)
    assert info["features"] == IRIS_FEATURES and info["classes"] == IRIS_CLASSES
    assert info["accuracy"] > 0.85
    assert info["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sio.get_untrusted_types(file=path) == []  # loads with no trusted_types configured
    model = sio.load(path)
    assert list(model.feature_names_in_) == IRIS_FEATURES and list(model.classes_) == IRIS_CLASSES
    assert not list(path.parent.glob(".*.tmp")), "the atomic write leaves no temporary file"


def test_iris_onnx_describes_its_inputs(models_dir: Path) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(models_dir / "models" / "iris.onnx"))
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["feature_names"].split(",") == IRIS_FEATURES
    assert meta["class_labels"].split(",") == IRIS_CLASSES
    assert [i.shape[1] for i in session.get_inputs()] == [4]


def test_credit_data_is_deterministic_and_the_model_ranks_risk(models_dir: Path) -> None:
    import pandas as pd
    import skops.io as sio

    first, labels = credit_dataset()
    again, labels_again = credit_dataset()
    assert first.equals(again) and (labels == labels_again).all()
    assert list(first.columns) == CREDIT_FEATURES and 0.1 < labels.mean() < 0.9
    model: Any = sio.load(models_dir / "models" / "credit.skops")
    customers = pd.DataFrame({"credit_score": [450, 650, 800], "income": [30000, 55000, 90000]})
    default_risk = model.predict_proba(customers)[:, 1]
    assert list(default_risk) == sorted(default_risk, reverse=True)


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown model format"):
        train_iris(tmp_path / "iris.bin", fmt="pmml")  # type: ignore[arg-type]
