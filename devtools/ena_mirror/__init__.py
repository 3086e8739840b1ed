"""A local ENA mirror: deterministic synthetic studies and an HTTP server speaking the Portal API.

``python -m devtools.ena_mirror serve [--host --port --data-dir]`` / ``python -m devtools.ena_mirror generate``;
in tests, :func:`devtools.ena_mirror.server.run_mirror_in_thread`.
"""
