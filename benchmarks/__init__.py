"""Benchmarks for tune-extras: ``python -m benchmarks run <suite>`` (see docs/benchmarks.md)."""
