from django.apps import AppConfig


class AutomationConfig(AppConfig):
    """Starting flow runs from the API and the admin (no models of its own)."""

    name = "workflows.automation"
    label = "automation"
    verbose_name = "Automation"
