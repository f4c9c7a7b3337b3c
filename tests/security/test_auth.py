"""Auth through the HTTP app: API keys from env (hashed), JWT HS/RS, scopes per domain and
endpoint, 401/403 with the right headers, admin routes, and config mistakes refused at load."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends

from orkestra.errors import ConfigError
from orkestra.security import require_admin
from orkestra.security.credentials import sha256_hex
from orkestra.service import Orkestra
from tests.support.configs import write_config

READER_KEY = "reader-key-0123456789abcdef"
ADMIN_KEY = "admin-key-fedcba9876543210"
HS_SECRET = "hs-secret-that-is-long-enough-0123456789"

DOMAINS = {
    "domains/shop.yaml": """
        domain_id: shop
        endpoints:
          items:
            method: get
            endpoint_type: direct
            response: {items: [1, 2]}
          orders:
            method: get
            endpoint_type: direct
            auth: {scopes: [orders:read]}
            response: {orders: []}
          status:
            method: get
            endpoint_type: direct
            auth: false
            response: {up: true}
        """,
    "domains/public.yaml": """
        domain_id: public
        auth: false
        endpoints:
          hello:
            method: get
            endpoint_type: direct
            response: {hello: world}
        """,
}


def config_yaml(extra: str = "") -> str:
    return f"""
        auth:
          api_keys:
            - {{name: reader, key: "${{READER_KEY}}", scopes: [orders:read]}}
            - {{name: admin, key_sha256: "{sha256_hex(ADMIN_KEY)}", scopes: [admin]}}
          jwt: {{algorithms: [HS256], secret: "${{HS_SECRET}}", audience: orkestra}}
        {extra}
        """


@pytest.fixture
async def client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("READER_KEY", READER_KEY)
    monkeypatch.setenv("HS_SECRET", HS_SECRET)
    svc = Orkestra(write_config(tmp_path, {"config.yaml": config_yaml(), **DOMAINS}))
    svc.fastapi.add_api_route(
        "/admin/probe", lambda: {"ok": True}, dependencies=[Depends(require_admin)]
    )
    async with (
        svc,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://t") as c,
    ):
        yield c


def token(**claims: object) -> str:
    body = {"sub": "ada", "aud": "orkestra", "exp": int(time.time()) + 60, **claims}
    return jwt.encode(body, HS_SECRET, algorithm="HS256")


async def test_no_credentials_is_401_with_www_authenticate(client: httpx.AsyncClient) -> None:
    response = await client.get("/orchestrator/shop/items")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


async def test_api_key_in_header_or_bearer(client: httpx.AsyncClient) -> None:
    assert (
        await client.get("/orchestrator/shop/items", headers={"X-API-Key": READER_KEY})
    ).status_code == 200
    bearer = {"Authorization": f"Bearer {READER_KEY}"}
    assert (await client.get("/orchestrator/shop/items", headers=bearer)).json() == {
        "items": [1, 2]
    }


async def test_wrong_key_is_401_and_never_echoed(client: httpx.AsyncClient) -> None:
    wrong = READER_KEY[:-1] + "X"
    response = await client.get("/orchestrator/shop/items", headers={"X-API-Key": wrong})
    assert response.status_code == 401
    assert wrong not in response.text and READER_KEY not in response.text


async def test_scope_missing_is_403(client: httpx.AsyncClient) -> None:
    response = await client.get("/orchestrator/shop/orders", headers={"X-API-Key": ADMIN_KEY})
    assert response.status_code == 403
    assert "orders:read" in response.json()["detail"]
    ok = await client.get("/orchestrator/shop/orders", headers={"X-API-Key": READER_KEY})
    assert ok.status_code == 200


async def test_public_endpoint_and_public_domain(client: httpx.AsyncClient) -> None:
    assert (await client.get("/orchestrator/shop/status")).status_code == 200
    assert (await client.get("/orchestrator/public/hello")).json() == {"hello": "world"}


async def test_jwt_scopes_and_failures(client: httpx.AsyncClient) -> None:
    def get(tok: str) -> object:
        return client.get("/orchestrator/shop/orders", headers={"Authorization": f"Bearer {tok}"})

    assert (await get(token(scope="orders:read other"))).status_code == 200  # type: ignore[attr-defined]
    assert (await get(token())).status_code == 403  # type: ignore[attr-defined]
    expired = await get(token(scope="orders:read", exp=int(time.time()) - 3600))  # type: ignore[misc]
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    assert (await get(token(scope="orders:read", aud="someone-else"))).status_code == 401  # type: ignore[attr-defined]
    forged = jwt.encode(
        {"sub": "x", "aud": "orkestra", "exp": int(time.time()) + 60, "scope": "orders:read"},
        "another-secret-that-is-long-enough-000",
        algorithm="HS256",
    )
    assert (await get(forged)).status_code == 401  # type: ignore[attr-defined]
    unsigned = jwt.encode(
        {"sub": "x", "aud": "orkestra", "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    assert (await get(unsigned)).status_code == 401  # type: ignore[attr-defined]
    no_exp = jwt.encode(
        {"sub": "x", "aud": "orkestra", "scope": "orders:read"}, HS_SECRET, algorithm="HS256"
    )
    assert (await get(no_exp)).status_code == 401  # type: ignore[attr-defined]


async def test_admin_routes_need_the_admin_scope(client: httpx.AsyncClient) -> None:
    assert (await client.get("/admin/probe")).status_code == 401
    assert (await client.get("/admin/probe", headers={"X-API-Key": READER_KEY})).status_code == 403
    assert (await client.get("/admin/probe", headers={"X-API-Key": ADMIN_KEY})).json() == {
        "ok": True
    }


async def test_builtin_health_stays_public(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200


def test_only_hashes_of_keys_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("READER_KEY", READER_KEY)
    monkeypatch.setenv("HS_SECRET", HS_SECRET)
    svc = Orkestra(write_config(tmp_path, {"config.yaml": config_yaml(), **DOMAINS}))
    verifier = svc.fastapi.state.security.api_keys
    assert all(len(digest) == 32 for digest, _ in verifier.keys)
    assert READER_KEY.encode() not in b"".join(d for d, _ in verifier.keys)


async def test_rs256_tokens_with_a_public_key_file(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    config = write_config(
        tmp_path,
        {
            "config.yaml": "auth:\n  jwt: {algorithms: [RS256], public_key_file: keys/pub.pem, issuer: https://idp.test}\n",
            **DOMAINS,
        },
    )
    (config / "keys").mkdir()
    (config / "keys" / "pub.pem").write_bytes(pem)
    claims = {
        "sub": "svc",
        "iss": "https://idp.test",
        "exp": int(time.time()) + 60,
        "scope": ["orders:read"],
    }
    good = jwt.encode(claims, private, algorithm="RS256")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = jwt.encode(claims, other, algorithm="RS256")
    svc = Orkestra(config)
    async with (
        svc,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://t") as c,
    ):
        ok = await c.get("/orchestrator/shop/orders", headers={"Authorization": f"Bearer {good}"})
        refused = await c.get(
            "/orchestrator/shop/orders", headers={"Authorization": f"Bearer {bad}"}
        )
    assert ok.status_code == 200 and refused.status_code == 401


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            "auth:\n  jwt: {algorithms: [HS256], secret: short}\n",
            r"config\.yaml:2 auth\.jwt.*at least 32",
        ),
        (
            "auth:\n  jwt: {algorithms: [HS256, RS256], secret: 0123456789012345678901234567890123}\n",
            "mix of HS",
        ),
        (
            "auth:\n  api_keys:\n    - {name: a, key: tooshort}\n",
            r"config\.yaml:3 auth\.api_keys\[0\].*16 characters",
        ),
        ("auth:\n  api_keys:\n    - {name: a}\n", "exactly one of"),
        ("auth:\n  rate_limit: {requests: 0}\n", r"config\.yaml:2 auth\.rate_limit\.requests"),
    ],
)
def test_bad_auth_config_is_refused_with_file_and_line(
    tmp_path: Path, config: str, expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        Orkestra(write_config(tmp_path, {"config.yaml": config, **DOMAINS}))


def test_endpoint_scopes_without_any_auth_configured_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"domains/shop\.yaml:\d+ endpoints\.orders\.auth: requires callers"
    ):
        Orkestra(write_config(tmp_path, DOMAINS))


async def test_auth_switched_off_on_purpose_leaves_endpoints_open(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"config.yaml": "auth:\n  enabled: false\n", **DOMAINS})
    svc = Orkestra(config)
    async with (
        svc,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=svc.app), base_url="http://t") as c,
    ):
        assert (await c.get("/orchestrator/shop/orders")).status_code == 200
