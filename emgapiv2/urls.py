from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views import defaults

from core.api import error_response_for_path
from emgapiv2.api import api

#: URL prefixes of the JSON APIs: a URL under them that matches no route is answered in JSON too.
API_PREFIXES = ("/api/", "/ga4gh/")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v2/", api.urls),
    path("ga4gh/drs/v1/", include("drs.urls")),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A URL no route matches: JSON in an API's error shape under the APIs (their clients read no HTML)."""
    if request.path.startswith(API_PREFIXES):
        return error_response_for_path(request.path, 404, f"No such resource: {request.path}")
    return defaults.page_not_found(request, exception)


handler404 = not_found
