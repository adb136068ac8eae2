"""Benchmarks (not tests): ``python -m bench.throughput``; see bench/README.md."""
