"""WSGI entry point of the standalone emulator: `gunicorn nue_emulator.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nue_emulator.settings")

application = get_wsgi_application()
