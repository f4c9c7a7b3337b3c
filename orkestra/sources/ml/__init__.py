"""The `ml` source type: models served over HTTP, loaded in-process, or run as managed servers.

Importing this package stays light: numpy, scikit-learn, skops and onnxruntime are imported only
when an in-process model is loaded; docker and boto3 only when such a runtime is configured.
"""

from orkestra.sources.ml.config import MLSection as MLSection
from orkestra.sources.ml.runtime import ModelRuntime as ModelRuntime
from orkestra.sources.ml.runtimes import register_runtime as register_runtime
from orkestra.sources.ml.runtimes import runtime_for as runtime_for
from orkestra.sources.ml.source import MLSourceType as MLSourceType

__all__ = ["MLSection", "MLSourceType", "ModelRuntime", "register_runtime", "runtime_for"]
