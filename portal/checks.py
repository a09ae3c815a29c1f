"""Deploy checks (`manage.py check --deploy`) for what Django's own checks cannot know."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def nue_emulator_exposed(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.NUE_EMULATOR_ENABLED:
        return []
    messages: list[CheckMessage] = [
        Warning(
            f"The built-in Nue emulator serves its API at {settings.NUE_EMULATOR_PREFIX}/: "
            "whoever holds NUE_API_KEY reads every customer and creates orders there.",
            hint="Set NUE_API_URL to the tenant's Nue API; run the emulator for demos only.",
            id="portal.W001",
        )
    ]
    if settings.NUE_EMULATOR_CONTROL:
        messages.append(
            Warning(
                "The emulator's fault injection and call journal are mounted.",
                hint="They are mounted only with DEBUG=true; set DEBUG=false.",
                id="portal.W002",
            )
        )
    return messages
