"""Benchmarks: ``python -m bench`` (audit cost) and ``python -m bench.<name>``.

Each benchmark runs against a throw-away database created next to the one that
DATABASE_URL names (Django's test-database machinery), never against live data.
"""
