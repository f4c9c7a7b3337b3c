"""Execution records: the stores (memory, SQLite, Redis), the tracker that fills them, the executions
API and the timeline page. See docs/tracking.md.
"""
