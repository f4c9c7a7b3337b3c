"""The `feast` source type; Feast itself is imported only when a source starts."""

from orkestra.sources.feast.config import FeastSection as FeastSection
from orkestra.sources.feast.config import FeastSourceSpec as FeastSourceSpec
from orkestra.sources.feast.source import FeastOperation as FeastOperation
from orkestra.sources.feast.source import FeastSourceType as FeastSourceType
