"""Metrics (Prometheus), traces (OpenTelemetry), logs (execution id, JSON, redaction) and the guard of
the operational routes; `wiring.Observability` is what the service calls. See docs/observability.md.
"""
