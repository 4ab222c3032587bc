"""``make bench``: ENS measured against a real PostgreSQL, the server started as in production.

A benchmark, never a pass/fail test: it prints a table, writes ``bench-results.json`` and exits 0
whatever the figures are. See ``python -m bench --help`` for the knobs (environment variables).
"""
