"""Settings for running the emulator standalone, as its own server (load tests, other clients).

    DJANGO_SETTINGS_MODULE=nue_emulator.settings .venv/bin/python manage.py migrate
    DJANGO_SETTINGS_MODULE=nue_emulator.settings .venv/bin/python manage.py seed_emulator
    .venv/bin/gunicorn nue_emulator.wsgi -b 127.0.0.1:8100 --threads 8

Only the emulator and contenttypes are installed; it keeps its own database. Links it hands out
(magic links, invoice PDFs) use the host of the request, so there is no SITE_URL here.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Off unless asked for: a standalone emulator is reachable by whoever can reach its port.
DEBUG = env.bool("NUE_EMULATOR_DEBUG", default=False)

# Signs the time-limited quote and invoice links; the default is only fit for local use.
SECRET_KEY = env.str(
    "NUE_EMULATOR_SECRET_KEY",
    default="nue-emulator-standalone-dev-only-signing-key-0123456789abcdefghij",
)
ALLOWED_HOSTS = env.list("NUE_EMULATOR_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = ["django.contrib.contenttypes", "nue_emulator"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "nue_emulator.root_urls"
WSGI_APPLICATION = "nue_emulator.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

DATABASES = {
    "default": env.db(
        "NUE_EMULATOR_DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'emulator.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Gunicorn threads share the file: wait for a writer instead of failing at once, and let
    # readers run alongside the writer (WAL); every call commits a journal row, which WAL with
    # synchronous=NORMAL does without a disk flush each.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20,
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

NUE_EMULATOR_PREFIX = "/nue-emulator"
NUE_EMULATOR_API_KEY = env.str("NUE_EMULATOR_API_KEY", default="nue-emulator-dev-key")
# The fault and journal endpoints: what benchmarks and out-of-process tests run it for.
NUE_EMULATOR_CONTROL = env.bool("NUE_EMULATOR_CONTROL", default=True)
# What Nue does not document (reading one order by id, discarding a draft, a product by id,
# asOfDate, emulator-only fields: nue_emulator.extensions) is served only when this is on
# (nue-api.md §5.18c).
NUE_EMULATOR_EXTENSIONS = env.bool("NUE_EMULATOR_EXTENSIONS", default=False)
SITE_URL = ""

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
