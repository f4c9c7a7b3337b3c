"""Feast objects of the iris example: one entity, one feature view over a parquet file."""

from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64

MEASUREMENTS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]

flower = Entity(name="flower", join_keys=["flower_id"], value_type=ValueType.INT64)

iris = FeatureView(
    name="iris",
    entities=[flower],
    ttl=timedelta(days=365),
    schema=[Field(name=name, dtype=Float64) for name in MEASUREMENTS],
    source=FileSource(
        path=str(Path(__file__).resolve().parent / "data" / "iris.parquet"),
        timestamp_field="event_timestamp",
    ),
    online=True,
)

measurements = FeatureService(name="measurements", features=[iris])
