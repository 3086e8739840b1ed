from django.apps import AppConfig


class EnaConfig(AppConfig):
    name = "ena"
    verbose_name = "ENA"
