"""The support group: staff in it may impersonate customer users."""

from __future__ import annotations

from typing import Any

SUPPORT_GROUP = "Support"


def ensure_support_group(**kwargs: Any) -> None:
    """Keep a "Support" group that carries the impersonate permission (runs after migrate).

    The permission is created here when missing because this app's post_migrate handler may
    run before django.contrib.auth creates the permissions of a fresh database.
    """
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from portal.models import User

    # A flush (transactional tests) recreates content types with new ids; drop stale ones.
    ContentType.objects.clear_cache()
    permission, _ = Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(User),
        codename="impersonate",
        defaults={"name": "Can impersonate customer users"},
    )
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.add(permission)
