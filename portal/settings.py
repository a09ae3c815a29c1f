"""Settings for the Nue customer portal, read from the environment (see .env.example).

The defaults give the embedded setup: SQLite, a local-memory cache and the built-in Nue emulator.
Production sets DEBUG=false, a real SECRET_KEY and NUE_API_KEY, DATABASE_URL and REDIS_URL.
"""

import re
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)

# Development fallbacks; with DEBUG=false both must come from the environment.
DEV_SECRET_KEY = "django-insecure-dev-only-never-use-in-production-0123456789abcdef"
DEV_NUE_API_KEY = "nue-emulator-dev-key"

SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
NUE_API_URL = env.str("NUE_API_URL", default="")
NUE_API_KEY = env.str("NUE_API_KEY", default=DEV_NUE_API_KEY)

# Nue: with NUE_API_URL unset the portal talks to the emulator inside this process, mounted at
# /nue-emulator/ and reached through an in-process WSGI transport. Its API answers anyone holding
# the key, so in production (DEBUG=false) it runs only when switched on explicitly, for demos.
NUE_EMULATOR_ENABLED = env.bool("NUE_EMULATOR_ENABLED", default=DEBUG and not NUE_API_URL)

if not DEBUG:
    if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("Set SECRET_KEY to a random value of 50+ characters.")
    # The dev key is published: with it anyone could use the emulator's API, or send it to Nue.
    if not NUE_API_KEY or NUE_API_KEY == DEV_NUE_API_KEY:
        raise ImproperlyConfigured("Set NUE_API_KEY to the tenant's Nue API key.")
if bool(NUE_API_URL) == NUE_EMULATOR_ENABLED:
    raise ImproperlyConfigured(
        "Set NUE_API_URL to the tenant's Nue API, or NUE_EMULATOR_ENABLED=true for a demo"
        " (not both)."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Absolute base of the portal for links in emails, quotes and invoices. Unset: the scheme and host
# of the request being served (so `PORT=8001 make run` links to :8001).
SITE_URL = env.str("SITE_URL", default="").rstrip("/")

INSTALLED_APPS = [
    "portal",
    "orders",
    "nue_emulator",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Django's widget templates, found by the project's engine (FORM_RENDERER below).
    "django.forms",
    "django_htmx",
    # Loaders and builtins are set in TEMPLATES, not by the app.
    "template_partials.apps.SimpleAppConfig",
    "csp",
    "axes",
    "hijack",
    # The second factor: authenticator apps (TOTP) and single-use recovery codes (portal/mfa.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of a visitor who is not signed in, from Accept-Language; a signed-in person's
    # own language and time zone are activated by portal.middleware.personal_locale below.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.otp_device: the device that verified this session's second factor, if any.
    "django_otp.middleware.OTPMiddleware",
    "portal.middleware.no_store",
    "hijack.middleware.HijackUserMiddleware",
    "portal.middleware.personal_locale",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "portal.impersonation.middleware",
    "portal.middleware.acting_customer",
    # After the acting customer, whose admins may require a second factor of its members.
    "portal.mfa.SecondFactorMiddleware",
    "orders.middleware.NueMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

# One engine for the portal's pages, the admin's and the emulator's. An HTMX request gets one
# `{% partialdef %}` of a page, named after the element's id: `render(request, "page.html#id")`
# (django-template-partials; Django 6 has it built in, as the `partialdef` and `partial` tags).
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.shell",
                "orders.capabilities.labels",
            ],
            # portal.templatetags.urls: `{% url %}` with each reversal remembered.
            "builtins": ["template_partials.templatetags.partials", "portal.templatetags.urls"],
            "loaders": [
                (
                    "template_partials.loader.Loader",
                    [
                        (
                            "django.template.loaders.cached.Loader",
                            [
                                "django.template.loaders.filesystem.Loader",
                                "django.template.loaders.app_directories.Loader",
                            ],
                        )
                    ],
                )
            ],
        },
    },
]

# Forms render with the project's template engine, so a widget may use a template of the project's
# (portal.forms.ZoneSelect).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections: opening one costs ~8 ms on loopback PostgreSQL, most of the portal's
# per-page budget (bench/RESULTS.md); the health check drops a connection the server closed.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if env.str("TEST_DATABASE_NAME", default=""):
    # Lets parallel test runs on one PostgreSQL server use separate test databases.
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that stops answering must fail a request in seconds, not hang it (and the
    # health check) until the kernel gives up on the connection.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        connect_timeout=env.int("DATABASE_CONNECT_TIMEOUT", default=3),
        # An established connection whose packets stop (a partition) gives up as well.
        tcp_user_timeout=env.int("DATABASE_TCP_USER_TIMEOUT_MS", default=5000),
        options=(
            f"-c statement_timeout={env.int('DATABASE_STATEMENT_TIMEOUT_MS', default=10000)}"
            # `off` only where losing the last commits in a crash costs nothing: the test suite's
            # throwaway databases (Makefile), whose many small commits then need no flush each.
            f" -c synchronous_commit={env.str('DATABASE_SYNCHRONOUS_COMMIT', default='on')}"
        ),
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Threads of one process share the file: wait for a writer instead of failing at once, and
    # let readers run alongside the writer (WAL).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20,
        init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    )

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # A Redis that stops answering must not hold every request: each operation gives up after
    # REDIS_TIMEOUT seconds and the cache answers as a miss (portal.cache).
    redis_timeout = env.float("REDIS_TIMEOUT", default=0.5)
    CACHES = {
        "default": {
            "BACKEND": "portal.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": redis_timeout,
                "socket_timeout": redis_timeout,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Sessions live in the database alone, so an outage of Redis signs nobody out. Not with Redis in
# front (cached_db): a write Redis missed during an outage would leave it serving the session as
# it was before, after it recovers: a sign-out undone, an ended impersonation resumed.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "portal.backends.MembershipBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling: five failures for one email, from any addresses, or from one address, for
# any emails, pause sign-in for it for 15 minutes (guessing one password from many machines, or
# many passwords from one).
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a proxy the connection's address is the proxy's; see portal.audit.client_ip.
AXES_CLIENT_IP_CALLABLE = "portal.audit.client_ip"
# The proxies whose X-Forwarded-For is believed: the same variable gunicorn.conf.py reads.
TRUSTED_PROXIES = env.list("FORWARDED_ALLOW_IPS", default=["127.0.0.1"])
AXES_VERBOSE = False

# The second factor (portal/mfa.py). Wrong codes are counted per person from the audit log: five
# in 15 minutes pause code checks for that person, whichever device or session they come from.
# django-otp's own per-device back-off is off (factor 0): one limit, with one message.
MFA_FAILURE_LIMIT = env.int("MFA_FAILURE_LIMIT", default=5)
MFA_LOCKOUT_MINUTES = env.int("MFA_LOCKOUT_MINUTES", default=15)
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# The name authenticator apps show beside the account.
OTP_TOTP_ISSUER = env.str("MFA_ISSUER", default="Nue portal")
OTP_LOGIN_URL = "mfa_verify"
# Superusers reset a person's authenticator in the admin; its secret is never shown there.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@nue-portal.example")
# No request sends mail: Django's mail API queues every message in the database (portal.outbox)
# and the mail worker (`manage.py send_queued_mail --loop`) sends it with the backend EMAIL_URL
# names. Mail about work that is rolled back is never sent; a message is never sent twice.
OUTBOX_DELIVERY_BACKEND = EMAIL_CONFIG["EMAIL_BACKEND"]
EMAIL_BACKEND = "portal.outbox.OutboxBackend"
# Seconds one SMTP operation may take, so no send outlives the worker's lease on its message.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# A message is "sending" this long at most; found so after it, its worker stopped while sending
# and it is not sent again (unknown). Longer than a send can take: connect, TLS, sign-in, data.
OUTBOX_LEASE_SECONDS = env.int("OUTBOX_LEASE_SECONDS", default=300)
if OUTBOX_LEASE_SECONDS < 5 * EMAIL_TIMEOUT:
    raise ImproperlyConfigured("OUTBOX_LEASE_SECONDS must be at least 5 times EMAIL_TIMEOUT.")
# A message the mail server refuses is tried again after 1, 2, 4, ... minutes (at most an hour
# apart), OUTBOX_MAX_ATTEMPTS times in all (about 2 hours with the defaults), then failed.
OUTBOX_MAX_ATTEMPTS = env.int("OUTBOX_MAX_ATTEMPTS", default=8)
OUTBOX_RETRY_BASE_SECONDS = env.int("OUTBOX_RETRY_BASE_SECONDS", default=60)
OUTBOX_RETRY_MAX_SECONDS = env.int("OUTBOX_RETRY_MAX_SECONDS", default=3600)
# How often an idle worker looks for due mail, and how many it sends before looking again.
OUTBOX_POLL_SECONDS = env.float("OUTBOX_POLL_SECONDS", default=2.0)
OUTBOX_BATCH = 50
OUTBOX_MESSAGE_ID_DOMAIN = DEFAULT_FROM_EMAIL.rpartition("@")[2] or "nue-portal.example"

# Each person reads the portal in their own language and time zone (portal.User, set on
# /account/); anyone else in the language their browser asks for, and in UTC.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Stripe (a card on file, sent to Nue as the create-draft-orders guide describes). Unset keys:
# the portal offers paying by invoice only, and says so. STRIPE_API_BASE points the server and
# Stripe.js at localstripe (`make run`, the tests); never in production.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="").rstrip("/")
# Unset: Stripe's own (https://js.stripe.com/v3/), or localstripe's mock with STRIPE_API_BASE.
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
if not DEBUG and STRIPE_API_BASE:
    raise ImproperlyConfigured("STRIPE_API_BASE is for localstripe in development; unset it.")
if bool(STRIPE_SECRET_KEY) != bool(STRIPE_PUBLISHABLE_KEY):
    raise ImproperlyConfigured("Set both STRIPE_SECRET_KEY and STRIPE_PUBLISHABLE_KEY, or neither.")
# How the tenant collects (create-draft-orders.txt, "payment system requirements"):
# "stripe_invoicing" sends Nue only the transactionHub, "payment_links" (Nue Collections) the
# transactionHub and the card as a paymentMethodObject.
NUE_COLLECTION_MODE = env.str("NUE_COLLECTION_MODE", default="payment_links")
if NUE_COLLECTION_MODE not in ("stripe_invoicing", "payment_links"):
    raise ImproperlyConfigured('NUE_COLLECTION_MODE is "stripe_invoicing" or "payment_links".')


# Content-Security-Policy (django-csp 4): no inline script or style, scripts only from
# this origin and with the per-response nonce. The pages that load Stripe.js add its hosts
# (orders.stripe_gateway.csp_sources), and no other page names them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Load balancers probe instances over plain HTTP; a redirect to HTTPS would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The stripe library logs every request at INFO, with its query string.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "stripe": {"level": "WARNING"}},
}

NUE_EMULATOR_PREFIX = "/nue-emulator"
# Where the portal's client addresses the in-process emulator; no socket is opened, and the links
# the emulator hands out name SITE_URL or the host of the request served (orders.nue).
NUE_EMULATOR_URL = "http://localhost" + NUE_EMULATOR_PREFIX
# Fault injection and the call journal are test and benchmark tools: never mounted in production.
NUE_EMULATOR_CONTROL = DEBUG
# The embedded emulator's extensions, what Nue does not document (nue-api.md §5.18c): off, so
# the portal is built and tested against no more than Nue serves.
NUE_EMULATOR_EXTENSIONS = env.bool("NUE_EMULATOR_EXTENSIONS", default=False)
NUE_EMULATOR_API_KEY = env.str("NUE_EMULATOR_API_KEY", default=NUE_API_KEY)
NUE_EMULATOR_WSGI_APP = "nue_emulator.embedded.application"
# What Nue does not document (nue-api.md §5 item 18c; nue_emulator.extensions): off unless asked,
# and the portal never depends on it.
NUE_EMULATOR_EXTENSIONS = env.bool("NUE_EMULATOR_EXTENSIONS", default=False)

# A person typing produces at most one live preview per 400 ms pause (the page's delay), 25 in
# ten seconds; more in one window (orders.throttle) is a script or a stuck key.
LIVE_PREVIEWS_PER_WINDOW = env.int("LIVE_PREVIEWS_PER_WINDOW", default=30)

# How long after a write whose answer was lost the portal keeps reading Nue before it takes the
# work for not done (orders.nue.NUE_SETTLES_WITHIN): longer than the tenant ever takes to answer.
NUE_SETTLES_WITHIN_SECONDS = env.int("NUE_SETTLES_WITHIN_SECONDS", default=600)

# Approval threshold for activations by buyers (per account, defaulting to this).
APPROVAL_THRESHOLD_DEFAULT = Decimal(env.str("APPROVAL_THRESHOLD_DEFAULT", default="10000.00"))

# How long the link of a customer admin's invitation to their team works (portal.models.Invitation);
# a resend starts the time again with a new link.
INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=7)

# How an invoice is paid where Nue gives no payment page for it (Nue documents no invoice payment
# endpoint, nue-api.md §2.8): the tenant's remittance details, shown as written, several lines
# ("\n" in the environment starts a new line). The development default is the demo's.
DEMO_REMITTANCE_DETAILS = (
    "Bank transfer to Nue Demo Inc.\n"
    "Bank: First Demo Bank, 100 Market Street, San Francisco, CA 94105\n"
    "Account 000123456789 · Routing (ABA) 121000358 · SWIFT FDBKUS6S\n"
    "Reference: your invoice number"
)
PORTAL_REMITTANCE_DETAILS = env.str(
    "PORTAL_REMITTANCE_DETAILS", default=DEMO_REMITTANCE_DETAILS if DEBUG else "", multiline=True
)

# The tenant's branding on the portal's pages, its quotes and their PDFs: the name the quotes
# come from, its logo (a path under static/) and its colour (the PDF's headings and rules).
PORTAL_BRAND_NAME = env.str("PORTAL_BRAND_NAME", default="Nue portal")
PORTAL_BRAND_LOGO = env.str("PORTAL_BRAND_LOGO", default="favicon.svg")
PORTAL_BRAND_COLOR = env.str("PORTAL_BRAND_COLOR", default="#3b4cca")
if not re.fullmatch(r"#[0-9a-fA-F]{6}", PORTAL_BRAND_COLOR):
    raise ImproperlyConfigured("PORTAL_BRAND_COLOR is a colour as #rrggbb.")
# Quotes shared by link (orders.actions.quotes): how long a link stays open, and the terms its
# recipient agrees to when accepting it ("\n" in the environment starts a new paragraph).
PORTAL_QUOTE_VALID_DAYS = env.int("PORTAL_QUOTE_VALID_DAYS", default=30)
DEFAULT_QUOTE_TERMS = (
    "By accepting this quote you confirm that you are authorised to order on behalf of the "
    "customer named on it, and you agree to buy the products and services it lists at the "
    "prices, quantities and terms it shows. Subscriptions renew and are invoiced as the quote "
    "says; invoices are due on the payment terms of your account. Taxes are as shown, and may "
    "change if your billing address does.\n"
    "The order is placed when the quote is accepted, or once it is approved where your "
    "account's approval rules require it; you will receive a confirmation by email."
)
PORTAL_QUOTE_TERMS = env.str("PORTAL_QUOTE_TERMS", default=DEFAULT_QUOTE_TERMS, multiline=True)

# Support impersonation (django-hijack with our policy, portal/impersonation.py). Hijack's own
# notification is off: base.html and the HTMX middleware render ours.
HIJACK_PERMISSION_CHECK = "portal.impersonation.may_impersonate"
HIJACK_INSERT_BEFORE = None
IMPERSONATION_MAX_MINUTES = env.int("IMPERSONATION_MAX_MINUTES", default=30)
