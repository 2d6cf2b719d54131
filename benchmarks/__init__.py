"""Benchmarks: `python -m benchmarks.run [--size tiny|small|full] [--only NAME ...]` (see README.md)."""
