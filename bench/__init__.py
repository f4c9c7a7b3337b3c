"""Orkestra's benchmark suite: `scripts/bench.sh` (or `python -m bench`). See docs/benchmarks/README.md."""
