"""Loading a model artifact from disk, with the trust rules of SPEC §3 `ml`.

- `.skops`: skops refuses to construct types it does not know; any type it reports as untrusted
  must be listed in `trusted_types` (the operator reviewed it), else the artifact is refused.
- `.onnx`: an ONNX Runtime session; ONNX files are data, not code.
- `.joblib` / `.pkl` / `.pickle`: unpickling executes code, so only with `trusted: true` AND a
  pinned `sha256` that the file's bytes match. The bytes are read once, hashed, and loaded from
  memory, so the file cannot be swapped between the check and the load.

Runs in a worker thread (loading may take seconds); raises ArtifactError with a safe message.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import pickle
from pathlib import Path

from orkestra.extras import require
from orkestra.sources.ml.config import LocalArtifactSource, ModelSpec
from orkestra.sources.ml.predictors import ArtifactError, OnnxPredictor, Predictor, SklearnPredictor

_SUFFIX_FORMATS = {
    ".skops": "skops",
    ".onnx": "onnx",
    ".joblib": "joblib",
    ".pkl": "pickle",
    ".pickle": "pickle",
}


def artifact_format(path: Path, source: LocalArtifactSource) -> str:
    if source.format:
        return source.format
    fmt = _SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ArtifactError(
            f"cannot tell the format of '{path.name}' from its suffix; "
            f"expected one of {', '.join(_SUFFIX_FORMATS)} or set `format`"
        )
    return fmt


def load_predictor(path: Path, source: LocalArtifactSource, spec: ModelSpec) -> Predictor:
    fmt = artifact_format(path, source)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"model artifact not found: {path}") from None
    except OSError as exc:
        raise ArtifactError(f"cannot read model artifact {path}: {exc.strerror}") from None
    if fmt == "onnx":
        return _load_onnx(data, spec)
    if fmt == "skops":
        model = _load_skops(data, source, path)
    else:
        model = _load_pickle(data, source, path, fmt)
    return SklearnPredictor(model, feature_order=spec.feature_order, class_names=spec.class_names)


def _load_skops(data: bytes, source: LocalArtifactSource, path: Path) -> object:
    sio = require("skops.io", "ml")
    try:
        untrusted = list(sio.get_untrusted_types(data=data))
    except Exception as exc:  # noqa: BLE001 - loaders raise anything; reported safely
        raise ArtifactError(
            f"{path.name} is not a readable skops file ({type(exc).__name__})"
        ) from None
    refused = [t for t in untrusted if t not in source.trusted_types]
    if refused:
        raise ArtifactError(
            f"refusing to load {path.name}: it constructs types that are not trusted: "
            f"{', '.join(refused)}. Review them and list them under `trusted_types` to allow them"
        )
    try:
        return sio.load(io.BytesIO(data), trusted=untrusted)
    except Exception as exc:  # noqa: BLE001 - loaders raise anything; reported safely
        raise ArtifactError(
            f"cannot load {path.name} with skops ({type(exc).__name__}: {exc})"
        ) from None


def _load_pickle(data: bytes, source: LocalArtifactSource, path: Path, fmt: str) -> object:
    if not source.trusted or not source.sha256:
        raise ArtifactError(
            f"refusing to load {path.name}: {fmt} artifacts execute code when loaded. "
            "Mark the source `trusted: true` and pin its `sha256` (sha256sum <file>) to allow it, "
            "or save the model with skops or ONNX"
        )
    actual = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(actual, source.sha256):
        raise ArtifactError(
            f"refusing to load {path.name}: its sha256 does not match the pinned `sha256`"
        )
    try:
        if fmt == "joblib":
            joblib = require("joblib", "ml")
            return joblib.load(io.BytesIO(data))
        return pickle.loads(data)
    except Exception as exc:  # noqa: BLE001 - loaders raise anything; reported safely
        raise ArtifactError(f"cannot unpickle {path.name} ({type(exc).__name__}: {exc})") from None


def _load_onnx(data: bytes, spec: ModelSpec) -> Predictor:
    ort = require("onnxruntime", "ml")
    options = ort.SessionOptions()
    # Parallelism comes from the source's `workers` pool; ONNX Runtime's own spinning thread pool
    # per session would compete with it (and with the event loop) for the same cores.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - loaders raise anything; reported safely
        raise ArtifactError(
            f"ONNX Runtime cannot load the model ({type(exc).__name__}: {exc})"
        ) from None
    return OnnxPredictor(session, feature_order=spec.feature_order, class_names=spec.class_names)
