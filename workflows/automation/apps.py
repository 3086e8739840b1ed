from django.apps import AppConfig

#: Where "View site" in the admin's header leads: the platform has no public website, its API docs are the site.
SITE_URL = "/api/v2/docs"
SITE_HEADER = "emgapiv2 curator's console"
SITE_TITLE = "emgapiv2 admin"
INDEX_TITLE = "Analyses, studies and the work ledger"
#: The admin index with the curator's dashboard (``templates/admin/dashboard/index.html``, extending Django's).
INDEX_TEMPLATE = "admin/dashboard/index.html"


class AutomationConfig(AppConfig):
    """Starting flow runs from the API and the admin (no models of its own); the admin's index dashboard."""

    name = "workflows.automation"
    label = "automation"
    verbose_name = "Automation"

    def ready(self) -> None:
        """Name the admin after the platform, point "View site" at the API docs, and put the dashboard on its index.

        Attributes of the default site rather than an ``AdminSite`` subclass: every app keeps registering on
        ``admin.site`` as it does, and Django's own index view renders the template.
        """
        from django.contrib import admin

        admin.site.site_url = SITE_URL
        admin.site.site_header = SITE_HEADER
        admin.site.site_title = SITE_TITLE
        admin.site.index_title = INDEX_TITLE
        admin.site.index_template = INDEX_TEMPLATE
