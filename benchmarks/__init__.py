"""Benchmarks of schoolnet: run with `make bench`; figures go into docs/benchmarks.md."""
