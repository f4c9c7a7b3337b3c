"""A tiny standalone model server: the "someone else's model server" of the ml tests.

Needs only the standard library, numpy, scikit-learn and skops (pandas if present), so it also runs
in a minimal container image. It serves one skops model:

    GET  /health                          200 {"status": "ok"}
    POST /predict                         json protocol: {features: {...} | [{...}, ...]} or a flat
                                          mapping -> {prediction, class_name, probabilities} (a list
                                          for a batch), like Orkestra's in-process models
    GET  /v2/health/ready, /v2/health/live
    GET  /v2/models/<name>                model metadata
    POST /v2/models/<name>/infer          Open Inference Protocol: one [n, 1] tensor per feature, or
                                          one [n, k] tensor in the model's feature order; answers
                                          `predict` [n] and, for classifiers, `predict_proba` [n, k]

    python model_server.py --model iris.skops [--host 127.0.0.1] [--port 8080] [--name iris]
Options fall back to $MODEL_PATH, $HOST, $PORT, $MODEL_NAME; --delay makes every prediction slow.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import skops.io as sio

try:
    import pandas as pd
except ImportError:  # a minimal image: predict on arrays in the model's feature order
    pd = None
    warnings.filterwarnings("ignore", message="X does not have valid feature names")

_INFER = re.compile(r"^/v2/models/([^/]+)(?:/versions/[^/]+)?/infer$")
_METADATA = re.compile(r"^/v2/models/([^/]+)(?:/versions/[^/]+)?$")


class BadRequest(Exception):
    pass


def plain(value: Any) -> Any:
    """A numpy scalar as a JSON-ready Python value (object arrays already hold Python values)."""
    return value.item() if hasattr(value, "item") else value


class Model:
    def __init__(self, path: str, name: str) -> None:
        # This server trusts the file it was given: it is the test's own freshly trained model.
        self.estimator = sio.load(path, trusted=sio.get_untrusted_types(file=path))
        self.name = name
        self.features = [str(f) for f in self.estimator.feature_names_in_]
        self.classes = (
            list(getattr(self.estimator, "classes_", []))
            if hasattr(self.estimator, "predict_proba")
            else []
        )

    def matrix(self, rows: list[list[Any]]) -> Any:
        return pd.DataFrame(rows, columns=self.features) if pd is not None else np.asarray(rows)

    def rows_from_mappings(self, mappings: list[dict[str, Any]]) -> list[list[Any]]:
        for row in mappings:
            missing = [f for f in self.features if row.get(f) is None]
            if missing:
                raise BadRequest(f"missing features: {', '.join(missing)}")
        return [[row[f] for f in self.features] for row in mappings]

    def predict_json(self, params: Any) -> Any:
        features = params.get("features", params) if isinstance(params, dict) else params
        batch = isinstance(features, list)
        rows = self.rows_from_mappings(features if batch else [features])
        x = self.matrix(rows)
        labels = self.estimator.predict(x)
        if not self.classes:
            out = [{"prediction": plain(label)} for label in labels]
        else:
            probabilities = self.estimator.predict_proba(x)
            out = [
                {
                    "prediction": plain(label),
                    "class_name": str(label),
                    "probabilities": {str(c): float(p) for c, p in zip(self.classes, probs)},
                }
                for label, probs in zip(labels, probabilities)
            ]
        return out if batch else out[0]

    def infer_v2(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise BadRequest("`inputs` must be a non-empty list of tensors")
        if len(inputs) == 1 and len(self.features) > 1:
            tensor = inputs[0]
            n = int(tensor["shape"][0])
            flat = np.asarray(tensor["data"], dtype=object).reshape(-1)
            rows = flat.reshape(n, len(self.features)).tolist()
        else:
            by_name = {t["name"]: np.asarray(t["data"], dtype=object).reshape(-1) for t in inputs}
            missing = [f for f in self.features if f not in by_name]
            if missing:
                raise BadRequest(f"missing input tensors: {', '.join(missing)}")
            rows = np.stack([by_name[f] for f in self.features], axis=1).tolist()
        x = self.matrix(rows)
        labels = self.estimator.predict(x)
        n = len(rows)
        is_text = labels.dtype.kind in ("U", "S", "O")
        outputs = [
            {
                "name": "predict",
                "shape": [n],
                "datatype": "BYTES"
                if is_text
                else ("INT64" if labels.dtype.kind in "iu" else "FP64"),
                "data": [str(v) if is_text else plain(v) for v in labels],
            }
        ]
        if self.classes:
            probabilities = self.estimator.predict_proba(x)
            outputs.append(
                {
                    "name": "predict_proba",
                    "shape": [n, len(self.classes)],
                    "datatype": "FP64",
                    "data": probabilities.reshape(-1).tolist(),
                }
            )
        return {"model_name": self.name, "id": body.get("id", ""), "outputs": outputs}

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "platform": "sklearn",
            "inputs": [{"name": f, "datatype": "FP64", "shape": [-1, 1]} for f in self.features],
            "outputs": [{"name": "predict", "datatype": "BYTES", "shape": [-1]}],
        }


def make_handler(model: Model, delay: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # one line per request would drown the test output

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path in ("/health", "/v2/health/ready", "/v2/health/live"):
                self._send(200, {"status": "ok"})
            elif (match := _METADATA.match(self.path)) and match.group(1) == model.name:
                self._send(200, model.metadata())
            else:
                self._send(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"null")
                if delay:
                    time.sleep(delay)
                if self.path == "/predict":
                    self._send(200, model.predict_json(body))
                elif match := _INFER.match(self.path):
                    if match.group(1) != model.name:
                        self._send(404, {"error": f"unknown model '{match.group(1)}'"})
                    else:
                        self._send(200, model.infer_v2(body))
                else:
                    self._send(404, {"error": f"no route {self.path}"})
            except (BadRequest, ValueError, KeyError, TypeError) as exc:
                self._send(422, {"error": str(exc)})

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("MODEL_PATH"))
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--name", default=os.environ.get("MODEL_NAME", "model"))
    parser.add_argument("--delay", type=float, default=float(os.environ.get("PREDICT_DELAY", "0")))
    args = parser.parse_args(argv)
    if not args.model:
        parser.error("--model (or $MODEL_PATH) is required")
    model = Model(args.model, args.name)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(model, args.delay))
    server.daemon_threads = True
    print(f"serving {args.name} on {args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
