"""A model server pulled from Amazon ECR and run as a Docker container (`source: {type: ecr}`).

Keys: `repository`, `tag` (latest), `region`, `registry_id`, `endpoint_url` (a VPC endpoint, or a
moto server in tests), `registry_override`, plus every key of a docker model (docker_runtime.py).

How an image gets here, as `aws ecr get-login-password | docker login` + `docker pull` would do it:
  1. `ecr.get_authorization_token` (boto3, credentials from the standard AWS chain) gives a base64
     `AWS:<password>` token valid for 12 hours and the registry's `proxyEndpoint`
     (https://<account>.dkr.ecr.<region>.amazonaws.com);
  2. the Docker engine logs in to that registry with the token (the SDK's `login`, so the
     credentials stay in this process: nothing is written to ~/.docker/config.json);
  3. `<registry>/<repository>:<tag>` is pulled with progress, then runs as a docker model.
The token is fetched only when the image must be pulled (`pull: always`, or `missing` and absent).

`registry_override` (`host:port`) replaces the proxyEndpoint's host: for a pull-through cache or
mirror, and for tests, where moto answers the ECR API but serves no image bytes, so a local registry
that accepts moto's token stands in. Production leaves it unset and uses the proxyEndpoint.

The token and the AWS credentials are never logged nor put in an error message.
"""

from __future__ import annotations

import base64
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from orkestra.errors import SourceUnavailable
from orkestra.extras import require
from orkestra.sources.ml.docker_pull import PullProgress
from orkestra.sources.ml.docker_runtime import DockerRuntime
from orkestra.sources.ml.runtimes import mask

log = logging.getLogger("orkestra.ml.ecr")

# Refresh a cached token this long before ECR says it expires.
_TOKEN_MARGIN = 300.0
# Stands in for the image until the registry is known; never pulled or run.
_UNRESOLVED = "ecr-image-unresolved"


@dataclasses.dataclass(frozen=True)
class EcrToken:
    username: str
    password: str
    registry: str  # host[:port] to log in to and pull from
    expires: float  # time.time() seconds

    def __repr__(self) -> str:  # a token must not reach a log through repr()
        return f"EcrToken(registry={self.registry!r}, expires={self.expires:.0f})"


def _host(url_or_host: str) -> str:
    """`https://1.dkr.ecr.r.amazonaws.com` or `127.0.0.1:5000` -> the host[:port] Docker wants."""
    return urlsplit(url_or_host).netloc if "://" in url_or_host else url_or_host.rstrip("/")


class EcrRuntime(DockerRuntime):
    def __init__(
        self,
        config: dict[str, Any],
        *,
        model_id: str,
        project_dir: Path,
        secrets: frozenset[str],
        progress: Callable[[PullProgress], None] | None = None,
    ) -> None:
        repository = config.get("repository")
        if not repository:
            raise ValueError("an ecr model needs `repository`")
        self.repository = str(repository)
        self.tag = str(config.get("tag") or "latest")
        self.region: str | None = config.get("region")
        self.registry_id: str | None = config.get("registry_id")
        self.endpoint_url: str | None = config.get("endpoint_url")
        override = config.get("registry_override")
        self.registry_override = _host(str(override)) if override else None
        self._token: EcrToken | None = None
        super().__init__(
            {**config, "image": self._image_for(self._known_registry()) or _UNRESOLVED},
            model_id=model_id,
            project_dir=project_dir,
            secrets=secrets,
            progress=progress,
        )

    def _known_registry(self) -> str | None:
        """The registry host when the config alone says it (no AWS call needed)."""
        if self.registry_override:
            return self.registry_override
        if self.registry_id and self.region:
            return f"{self.registry_id}.dkr.ecr.{self.region}.amazonaws.com"
        return None

    def _image_for(self, registry: str | None) -> str | None:
        return f"{registry}/{self.repository}:{self.tag}" if registry else None

    def _start_sync(self) -> None:
        if self.settings.image == _UNRESOLVED:
            # Only the token's proxyEndpoint names the caller's default registry.
            token = self._fresh_token()
            self.settings = dataclasses.replace(
                self.settings, image=f"{token.registry}/{self.repository}:{self.tag}"
            )
        super()._start_sync()

    def registry_auth(self, client: Any) -> dict[str, str] | None:
        token = self._fresh_token()
        try:
            client.login(
                username=token.username,
                password=token.password,
                registry=token.registry,
                reauth=True,  # a cached login of an older, expired token must not be reused
            )
        except Exception as exc:  # noqa: BLE001 - docker.errors.APIError and transport errors
            explanation = getattr(exc, "explanation", None) or type(exc).__name__
            raise SourceUnavailable(
                self.model_id,
                mask(
                    f"docker login to {token.registry} with the ECR token failed: {explanation}",
                    self._secrets | {token.password},
                ),
            ) from None
        log.info("model '%s': logged in to %s", self.model_id, token.registry)
        return {"username": token.username, "password": token.password}

    def _fresh_token(self) -> EcrToken:
        if self._token is None or self._token.expires - _TOKEN_MARGIN < time.time():
            self._token = self._fetch_token()
        return self._token

    def _fetch_token(self) -> EcrToken:
        boto3 = require("boto3", "aws")
        botocore_exceptions = require("botocore.exceptions", "aws")
        where = f"region {self.region or '(default)'}" + (
            f", endpoint {self.endpoint_url}" if self.endpoint_url else ""
        )
        try:
            # A new session resolves the credential chain now, not what boto3's default session
            # cached at its first use: rotated keys and a changed environment are seen.
            session = boto3.session.Session()
            ecr = session.client("ecr", region_name=self.region, endpoint_url=self.endpoint_url)
            kwargs = {"registryIds": [self.registry_id]} if self.registry_id else {}
            data = ecr.get_authorization_token(**kwargs)["authorizationData"][0]
        except botocore_exceptions.ClientError as exc:
            error = exc.response.get("Error", {})
            detail = f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
            raise self._token_error(where, detail) from None
        except botocore_exceptions.BotoCoreError as exc:
            # NoCredentialsError, NoRegionError, EndpointConnectionError: their text names no secret.
            raise self._token_error(where, str(exc)) from None
        username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
        expires_at = data.get("expiresAt")
        expires = expires_at.timestamp() if expires_at is not None else time.time() + 3600
        registry = self.registry_override or _host(str(data["proxyEndpoint"]))
        log.info("model '%s': got an ECR token for %s (%s)", self.model_id, registry, where)
        return EcrToken(username, password, registry, expires)

    def _token_error(self, where: str, detail: str) -> SourceUnavailable:
        return SourceUnavailable(
            self.model_id,
            mask(f"cannot get an ECR authorization token ({where}): {detail}", self._secrets),
        )

    def describe(self) -> dict[str, object]:
        out = super().describe()
        out.update(runtime="ecr", repository=self.repository, tag=self.tag)
        if self.settings.image == _UNRESOLVED:
            out["image"] = None
        return out
