from django.apps import AppConfig


class DrsConfig(AppConfig):
    name = "drs"
    verbose_name = "GA4GH DRS objects"
