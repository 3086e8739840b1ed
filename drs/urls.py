"""URLs under ``/ga4gh/drs/v1/``: the file view, then the DRS API."""

from django.urls import path

from drs.api import drs_api
from drs.views import serve_file

urlpatterns = [
    path("files/<str:object_id>", serve_file, name="drs-file"),
    path("", drs_api.urls),
]
