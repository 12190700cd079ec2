"""Benchmarks: `python -m bench` (see bench/__main__.py). Everything runs against moto on loopback."""
