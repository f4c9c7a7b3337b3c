"""An import string for servers that need one (uvicorn --workers / --reload):
`uvicorn --factory orkestra.server.asgi:create_app`, config from ORKESTRA_CONFIG_PATH."""

from __future__ import annotations

import os

from orkestra.server.app import OrkestraASGI

CONFIG_ENV = "ORKESTRA_CONFIG_PATH"
STRICT_ENV = "ORKESTRA_STRICT"


def create_app() -> OrkestraASGI:
    from orkestra.service import Orkestra

    path = os.environ.get(CONFIG_ENV, "./config")
    return Orkestra(path, strict=os.environ.get(STRICT_ENV) == "1").app
