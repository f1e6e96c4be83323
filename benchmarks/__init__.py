"""Benchmarks of galileo-magic, each a ratio against a baseline in the same run.

Run them all with ``python -m benchmarks`` from the project root. They bind
only to 127.0.0.1 and print one table; nothing here is a pass/fail test.
"""
