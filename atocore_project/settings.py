"""Settings, read once from the environment (django-environ) with developer defaults."""

from pathlib import Path

import environ

from atocore_project.logging import configure_logging

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env(
    "SECRET_KEY",
    default="django-insecure-atocore-development-key-change-me" if DEBUG else environ.Env.NOTSET,
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

ATOCORE_DATA_DIR = Path(env("ATOCORE_DATA_DIR", default=str(BASE_DIR / "var"))).expanduser()
ATOCORE_ALERT_LOG = env("ATOCORE_ALERT_LOG", default="~/atocore-logs/alerts.log")
ATOCORE_ALERT_WEBHOOK = env("ATOCORE_ALERT_WEBHOOK", default="")
ATOCORE_ALERT_WEBHOOK_SECRET = env("ATOCORE_ALERT_WEBHOOK_SECRET", default="")
ATOCORE_ALERT_WEBHOOK_TIMEOUT = env.float("ATOCORE_ALERT_WEBHOOK_TIMEOUT", default=5.0)
ATOCORE_ALERT_WEBHOOK_FORMAT = env("ATOCORE_ALERT_WEBHOOK_FORMAT", default="auto")
ATOCORE_ALERT_COOLDOWN = env.float("ATOCORE_ALERT_COOLDOWN", default=600.0)
ATOCORE_AUTO_PROMOTE_MIN_REINFORCEMENTS = env.int("ATOCORE_AUTO_PROMOTE_MIN_REINFORCEMENTS", default=3)
ATOCORE_CANDIDATE_MAX_AGE_DAYS = env.int("ATOCORE_CANDIDATE_MAX_AGE_DAYS", default=14)
ATOCORE_HARNESS_MIN_PASS_RATE = env.float("ATOCORE_HARNESS_MIN_PASS_RATE", default=0.85)
ATOCORE_CANDIDATE_QUEUE_MAX = env.int("ATOCORE_CANDIDATE_QUEUE_MAX", default=200)
ATOCORE_MAX_CONTENT_CHARS = env.int("ATOCORE_MAX_CONTENT_CHARS", default=20_000)
ATOCORE_CHUNK_MAX_CHARS = env.int("ATOCORE_CHUNK_MAX_CHARS", default=1500)
ATOCORE_CORPUS_DIR = Path(
    env("ATOCORE_CORPUS_DIR", default=str(BASE_DIR.parent / "shared" / "corpus"))
).expanduser()
# Integrity scan: per-check statement timeout (PostgreSQL) and the run lease (SQLite).
ATOCORE_INTEGRITY_CHECK_TIMEOUT_SECONDS = env.float("ATOCORE_INTEGRITY_CHECK_TIMEOUT_SECONDS", default=300)
ATOCORE_INTEGRITY_LEASE_SECONDS = env.int("ATOCORE_INTEGRITY_LEASE_SECONDS", default=3600)

INSTALLED_APPS = [
    "observability.admin_site.AtocoreAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "memories",
    "observability",
    "integrity",
]

MIDDLEWARE = [
    "observability.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "observability.middleware.AmbientActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "atocore_project.urls"
WSGI_APPLICATION = "atocore_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{ATOCORE_DATA_DIR / 'atocore.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    ATOCORE_DATA_DIR.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE makes writers queue for the lock up front instead of failing with
    # "database is locked" halfway through; WAL lets readers run beside a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # A file, not :memory:, so that tests with several threads share one database.
    DATABASES["default"]["TEST"] = {"NAME": str(ATOCORE_DATA_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The API throttles keep their counters here: set CACHE_URL to a shared cache (e.g.
# dbcache://atocore_cache after createcachetable) when several processes serve the API.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = ATOCORE_DATA_DIR / "static"

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns an anonymous request into a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "observability.api.throttling.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["observability.api.parsers.StrictJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "observability.api.throttling.AnonThrottle",
        "observability.api.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("ATOCORE_API_THROTTLE_ANON", default="60/minute"),
        "user": env("ATOCORE_API_THROTTLE_USER", default="1200/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "observability.api.exceptions.exception_handler",
}
ATOCORE_API_PAGE_SIZE = env.int("ATOCORE_API_PAGE_SIZE", default=50)
ATOCORE_API_MAX_PAGE_SIZE = env.int("ATOCORE_API_MAX_PAGE_SIZE", default=200)

SPECTACULAR_SETTINGS = {
    "TITLE": "AtoCore Ops API",
    "DESCRIPTION": "Memories, their lifecycle and audit trail, alerts, integrity and the dashboard.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "observability.api.schema.add_error_responses",
    ],
}

# Production hardening; each follows DEBUG unless set explicitly.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_FORMAT = env("ATOCORE_LOG_FORMAT", default="console" if DEBUG else "json")
LOG_LEVEL = env("ATOCORE_LOG_LEVEL", default="INFO")
LOGGING_CONFIG = None
configure_logging(fmt=LOG_FORMAT, level=LOG_LEVEL)
