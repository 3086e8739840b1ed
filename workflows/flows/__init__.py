"""Prefect flows, one per file. Each imports ``workflows.django_activation`` before any model."""
