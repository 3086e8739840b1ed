from django.apps import AppConfig


class LedgerConfig(AppConfig):
    """The work ledger: pipelines, work items, events and tokens.

    Its label stays ``workflows`` (the app it began in), so its tables (``workflows_workitem``, ...),
    migration history and admin URLs are unchanged.
    """

    name = "workflows.ledger"
    label = "workflows"
    verbose_name = "Work ledger"
