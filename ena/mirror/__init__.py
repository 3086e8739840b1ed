"""A local ENA mirror: deterministic synthetic studies and an HTTP server speaking the Portal API.

``python -m ena.mirror serve [--host --port --data-dir]`` / ``python -m ena.mirror generate``;
in tests, :func:`ena.mirror.server.run_mirror_in_thread`.
"""
