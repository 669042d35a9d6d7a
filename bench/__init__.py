"""Benchmarks: `python -m bench`. Not shipped in the package."""
