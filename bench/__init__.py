"""Benchmarks, their data generator and recorded results (see bench/README.md)."""
