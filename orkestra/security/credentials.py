"""Who is calling: API keys (kept as SHA-256 hashes only) and JWT bearer tokens (PyJWT)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orkestra.security.config import ApiKeySpec, JwtSpec


@dataclass(frozen=True)
class Principal:
    name: str  # the API key's name or the token's subject
    scopes: frozenset[str] = field(default_factory=frozenset)
    method: str = "api_key"  # api_key | jwt


class InvalidCredentials(Exception):
    """The caller sent credentials that do not verify. The message is safe to show."""


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class ApiKeyVerifier:
    """Compares the hash of a presented key with every configured hash, in constant time each,
    so neither the key nor which key matched leaks through timing."""

    def __init__(self, specs: list[ApiKeySpec]) -> None:
        self.keys: list[tuple[bytes, Principal]] = []
        for spec in specs:
            digest = spec.key_sha256.lower() if spec.key_sha256 else sha256_hex(spec.key or "")
            self.keys.append((bytes.fromhex(digest), Principal(spec.name, frozenset(spec.scopes))))

    def verify(self, presented: str) -> Principal:
        digest = hashlib.sha256(presented.encode()).digest()
        found = None
        for known, principal in self.keys:
            if hmac.compare_digest(known, digest):
                found = principal
        if found is None:
            raise InvalidCredentials("unknown API key")
        return found


class JwtVerifier:
    def __init__(self, spec: JwtSpec, config_dir: Path) -> None:
        from orkestra.extras import require

        self.jwt = require("jwt", "auth")
        self.spec = spec
        if spec.algorithms[0].startswith("HS"):
            self.key: Any = spec.secret
        elif spec.public_key:
            self.key = spec.public_key
        else:
            self.key = (config_dir / str(spec.public_key_file)).read_text()

    def verify(self, token: str) -> Principal:
        options = {
            "require": ["exp"]
            + (["aud"] if self.spec.audience else [])
            + (["iss"] if self.spec.issuer else [])
        }
        try:
            claims = self.jwt.decode(
                token,
                self.key,
                algorithms=list(self.spec.algorithms),
                audience=self.spec.audience,
                issuer=self.spec.issuer,
                leeway=self.spec.leeway,
                options=options,
            )
        except self.jwt.ExpiredSignatureError:
            raise InvalidCredentials("the token has expired") from None
        except self.jwt.InvalidTokenError as exc:
            # PyJWT's messages name the failed check (audience, signature, ...), never the key
            raise InvalidCredentials(f"invalid token: {type(exc).__name__}") from None
        raw = claims.get(self.spec.scopes_claim, [])
        scopes = (
            raw.split()
            if isinstance(raw, str)
            else [str(s) for s in raw]
            if isinstance(raw, list)
            else []
        )
        subject = claims.get(self.spec.subject_claim)
        return Principal(str(subject) if subject is not None else "jwt", frozenset(scopes), "jwt")
