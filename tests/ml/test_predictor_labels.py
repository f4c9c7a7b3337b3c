"""Labels equal the estimator's own predict(), whether taken from predict_proba's argmax or not."""

from __future__ import annotations

import pytest

from orkestra.sources.ml.predictors import SklearnPredictor


@pytest.mark.parametrize("kind", ["logistic", "forest", "svc"])
def test_labels_match_predict(kind: str) -> None:
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x, y = load_iris(return_X_y=True)
    estimator = {
        "logistic": LogisticRegression(max_iter=500),
        "forest": RandomForestClassifier(n_estimators=20, random_state=0),
        "svc": SVC(probability=True, random_state=0),
    }[kind]
    model = make_pipeline(StandardScaler(), estimator).fit(x, y)
    predictor = SklearnPredictor(model, feature_order=["a", "b", "c", "d"], class_names=None)
    assert predictor._label_is_argmax == (kind != "svc")
    rows = x.tolist()
    served = [out["prediction"] for out in predictor.predict(rows)]
    assert served == [int(v) for v in model.predict(x)]
