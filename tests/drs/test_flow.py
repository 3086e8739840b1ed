"""The export flow is a thin Prefect flow over ``analyses.exports`` (its runs are exercised through the service)."""

from __future__ import annotations


def test_export_flow_is_a_prefect_flow_over_the_service():
    from prefect import Flow

    from analyses import exports
    from workflows.flows import export_collections as module

    assert isinstance(module.export_collections, Flow)
    assert module.export_collections.name == "export_collections"
    assert module.run_export is exports.export_collections
