"""Root URLconf of the standalone emulator: the same routes as embedded, under /nue-emulator/."""

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from nue_emulator.api import ApiError, failure, json_response, no_route


@login_not_required
def healthz(request: HttpRequest) -> HttpResponse:
    return json_response({"status": "ok"})


urlpatterns = [
    path(settings.NUE_EMULATOR_PREFIX.strip("/") + "/", include("nue_emulator.urls")),
    path("healthz", healthz),
]


def not_found(request: HttpRequest, exception: Any = None) -> HttpResponse:
    return failure(no_route(request.path))


def server_error(request: HttpRequest) -> HttpResponse:
    return failure(ApiError(500, "INTERNAL_ERROR", "The emulator failed unexpectedly."))


handler404 = not_found
handler500 = server_error
