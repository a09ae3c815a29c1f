from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = gettext_lazy("Portal accounts")

    def ready(self) -> None:
        # Imported for their effects: the sign-in receivers (audit, default language) and the
        # deploy checks.
        import portal.audit
        import portal.checks
        import portal.preferences  # noqa: F401
        from portal.roles import ensure_support_group

        post_migrate.connect(ensure_support_group, sender=self)
