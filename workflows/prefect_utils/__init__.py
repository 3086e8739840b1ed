"""Helpers that connect Prefect with the platform (deployments, clients, flow-run links)."""
