from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self) -> None:
        # Connects the capability record's cache to its saves and deletes, and the emails to
        # the ledger's successes.
        from orders import capabilities  # noqa: F401
        from orders.actions import notices  # noqa: F401
