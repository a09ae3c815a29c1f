"""Orders no longer store `orderPdf`: the list and the order endpoints add it when they read an
order (views.OrderPdfs), a signed link on the host asked. A stored `null` would repeat the key."""

from django.db import migrations

BATCH = 1000


def drop_stored_order_pdf(apps, schema_editor):
    Order = apps.get_model("nue_emulator", "Order")
    changed = []
    for order in Order.objects.only("id", "doc", "header").iterator(chunk_size=BATCH):
        if "orderPdf" in order.doc or "orderPdf" in order.header:
            order.doc.pop("orderPdf", None)
            order.header.pop("orderPdf", None)
            changed.append(order)
        if len(changed) >= BATCH:
            Order.objects.bulk_update(changed, ["doc", "header"])
            changed = []
    Order.objects.bulk_update(changed, ["doc", "header"])


class Migration(migrations.Migration):
    dependencies = [("nue_emulator", "0004_payment_method")]

    operations = [migrations.RunPython(drop_stored_order_pdf, migrations.RunPython.noop)]
