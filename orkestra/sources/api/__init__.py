"""The `api` source type: named operations on configured HTTP APIs (see docs/sources/api.md)."""

from orkestra.sources.api.config import ApiOperationConfig as ApiOperationConfig
from orkestra.sources.api.config import ApiSection as ApiSection
from orkestra.sources.api.config import ApiSourceConfig as ApiSourceConfig
from orkestra.sources.api.source import ApiOperation as ApiOperation
from orkestra.sources.api.source import ApiSourceType as ApiSourceType
