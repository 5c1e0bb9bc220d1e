"""Benchmarks, run as `python -m bench.<name>`; never timed assertions in tests."""
