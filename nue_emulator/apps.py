from django.apps import AppConfig


class NueEmulatorConfig(AppConfig):
    name = "nue_emulator"
    verbose_name = "Nue emulator"
