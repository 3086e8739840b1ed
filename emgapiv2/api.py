"""The NinjaAPI at /api/v2/: each app contributes a router."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError as NinjaValidationError

from ena.accessions import InvalidAccessionError

api = NinjaAPI(
    title="MGnify-style metagenomics platform API",
    version="2.0.0",
    description="Studies, samples, runs, assemblies, analyses and biomes; and the automation that makes them.",
    urls_namespace="api",
    docs_url="/docs",
)


@api.exception_handler(InvalidAccessionError)
def invalid_accession(request: HttpRequest, exc: InvalidAccessionError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=400)


@api.exception_handler(DjangoValidationError)
def invalid_value(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": "; ".join(exc.messages)}, status=400)


@api.exception_handler(NinjaValidationError)
def invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    """422 with one readable ``detail`` line per bad parameter (and ninja's structured ``errors``)."""
    lines = [
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}" for error in exc.errors
    ]
    return api.create_response(request, {"detail": "; ".join(lines), "errors": exc.errors}, status=422)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Not found"}, status=404)


def _register_routers() -> None:
    from analyses.api import router as analyses_router

    api.add_router("/", analyses_router)
    api.add_router("/work/", "workflows.api.router")

    from workflows.launch_api import router as launch_router

    api.add_router("/private/", launch_router)


_register_routers()

__all__ = ["api", "NinjaValidationError"]
