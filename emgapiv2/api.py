"""The NinjaAPI at /api/v2/: each app contributes a router; errors are answered as ``core.api`` maps them."""

from __future__ import annotations

from ninja import NinjaAPI

from accounts.api import router as accounts_router
from analyses.api import router as analyses_router
from core.api import add_error_handlers
from workflows.automation.api import analysis_actions
from workflows.automation.api import router as automation_router
from workflows.ledger.api import router as ledger_router

api = NinjaAPI(
    title="MGnify-style metagenomics platform API",
    version="2.0.0",
    description="Studies, samples, runs, assemblies, analyses and biomes; and the automation that makes them.",
    urls_namespace="api",
    docs_url="/docs",
)
add_error_handlers(api)

api.add_router("/", analyses_router)
api.add_router("/analyses/", analysis_actions)  # rerun, cancel: beside the analysis they act on
api.add_router("/work/", ledger_router)
api.add_router("/private/", automation_router)
api.add_router("/auth/", accounts_router)

__all__ = ["api"]
