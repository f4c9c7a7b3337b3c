"""The `feast:` config section (SPEC §3 `feast`), validated when the config loads."""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from orkestra.sources.base import SectionModel

# A feature reference is `view:feature`; Feast's own refs never contain more than one colon.
_FEATURE_REF = re.compile(r"^[^:\s]+:[^:\s]+$")
# Table and column names of the database fallback are pasted into SQL, so only plain identifiers
# (optionally `schema.table`) are accepted; values are always bound parameters.
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def check_feature_ref(ref: str) -> str:
    if not _FEATURE_REF.match(ref):
        raise ValueError(f"'{ref}' is not a feature reference, expected 'feature_view:feature'")
    return ref


def _check_identifier(name: str, what: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"{what} '{name}' must be a plain identifier (letters, digits, _)")
    return name


class FeatureServiceSpec(SectionModel):
    features: list[str] = Field(min_length=1)

    @field_validator("features")
    @classmethod
    def _refs(cls, v: list[str]) -> list[str]:
        return [check_feature_ref(ref) for ref in v]


class DatabaseFallbackSpec(SectionModel):
    enabled: bool = True  # the block's presence means "use it"; `enabled: false` keeps it dormant
    source_id: str = "default"
    table: str
    entity_key: str
    mapping: dict[str, str] = Field(min_length=1)  # "view:feature" -> column

    @field_validator("table")
    @classmethod
    def _table(cls, v: str) -> str:
        for part in v.split("."):
            _check_identifier(part, "table")
        if v.count(".") > 1:
            raise ValueError(f"table '{v}' must be 'table' or 'schema.table'")
        return v

    @field_validator("entity_key")
    @classmethod
    def _key(cls, v: str) -> str:
        return _check_identifier(v, "entity_key")

    @field_validator("mapping")
    @classmethod
    def _mapping(cls, v: dict[str, str]) -> dict[str, str]:
        for ref, column in v.items():
            check_feature_ref(ref)
            _check_identifier(column, "column")
        return v


class FeastSourceSpec(SectionModel):
    repo_path: str | None = None
    feature_server_url: str | None = None
    project: str | None = None
    feature_services: dict[str, FeatureServiceSpec] = Field(default_factory=dict)
    entity_key: str | None = None  # the join key when params are a bare value or list
    timeout: float = Field(5.0, gt=0)
    database_fallback: DatabaseFallbackSpec | None = None

    @field_validator("feature_server_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("http://", "https://")):
            raise ValueError("feature_server_url must start with http:// or https://")
        return v.rstrip("/") if v else v

    @model_validator(mode="after")
    def _mode(self) -> FeastSourceSpec:
        if self.repo_path is None and self.feature_server_url is None:
            raise ValueError(
                "set repo_path (SDK mode) or feature_server_url (a running `feast serve`)"
            )
        return self

    @property
    def sdk_mode(self) -> bool:
        """repo_path wins when both are set: reading in-process saves a network hop."""
        return self.repo_path is not None


class FeastSection(SectionModel):
    sources: dict[str, FeastSourceSpec] = Field(default_factory=dict)
