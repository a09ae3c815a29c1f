from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal accounts"

    def ready(self) -> None:
        import portal.audit  # noqa: F401  (connects the sign-in audit receivers)
        from portal.roles import ensure_support_group

        post_migrate.connect(ensure_support_group, sender=self)
