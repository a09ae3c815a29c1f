"""Every admin page of every registered model renders for a superuser, through the one template
engine the portal's pages use too."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from portal.models import User
from tests.conftest import signed_in

MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.fixture
def superuser_client(db):
    return signed_in(User.objects.get(email="admin@nue.example"))


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_the_list_add_and_change_pages_render(superuser_client, model):
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}"

    assert superuser_client.get(reverse(f"{name}_changelist")).status_code == 200
    # 403 where the admin is read-only (the ledger, the audit trail).
    assert superuser_client.get(reverse(f"{name}_add")).status_code in (200, 403)
    first = model._default_manager.order_by("pk").first()
    if first is not None:
        change = superuser_client.get(reverse(f"{name}_change", args=[first.pk]))
        assert change.status_code == 200
