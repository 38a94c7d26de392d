"""Accord settings: one module, driven by environment variables.

With nothing set you get the embedded default (DEBUG on, SQLite under var/,
a filesystem Celery broker). DJANGO_ENV=production turns DEBUG off and makes
SECRET_KEY and ALLOWED_HOSTS mandatory; DATABASE_URL and CELERY_BROKER_URL
select Postgres and Redis.
"""

import datetime as dt
import importlib.util
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str | None = None) -> str | None:
    """A setting from the environment, so one code base runs anywhere."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    """A yes/no setting from the environment (1, true, yes, on: yes)."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """A comma-separated setting from the environment, blanks dropped."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_required(name: str) -> str:
    """A setting production cannot run without; refuses to start when it is missing."""
    value = os.environ.get(name)
    if not value:
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_ENV=production")
    return value


ENVIRONMENTS = ("development", "production")


def environment() -> str:
    """DJANGO_ENV, exactly one of ENVIRONMENTS: a misspelt value must not fall back to
    development (DEBUG on, the development secret key) on a production server."""
    value = os.environ.get("DJANGO_ENV", "development")
    if value not in ENVIRONMENTS:
        raise ImproperlyConfigured(
            f"DJANGO_ENV={value!r} is not a known environment: set it to "
            + " or ".join(repr(name) for name in ENVIRONMENTS)
            + " (lower case), or leave it unset for development."
        )
    return value


PRODUCTION = environment() == "production"
VAR = Path(env("ACCORD_VAR_DIR", str(BASE_DIR / "var")))
VAR.mkdir(parents=True, exist_ok=True)
# The currency every amount is in (deal amounts, campaign costs): reports show and export
# it beside each amount.
ACCORD_CURRENCY = env("ACCORD_CURRENCY", "EUR") or "EUR"

if PRODUCTION:
    DEBUG = env_bool("DEBUG", False)
    SECRET_KEY = env_required("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or env_required("ALLOWED_HOSTS").split(",")
else:
    DEBUG = env_bool("DEBUG", True)
    SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_fsm",
    "django_htmx",
    "import_export",
    "simple_history",
    "django_celery_beat",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "agreements",
    "leads",
    "reports",
    "notifications",
    "sla",
    "customers",
    "content",
    "api",
    "benchmark",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "leads.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
# No JIT on Postgres: the reports' many correlated subqueries look costly, so it compiles
# them for longer than they run. The benchmark's server takes the same options.
POSTGRES_OPTIONS = {"options": "-c jit=off"}
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if "postgresql" in DATABASES["default"]["ENGINE"]:
        DATABASES["default"].setdefault("OPTIONS", {}).update(POSTGRES_OPTIONS)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", str(VAR / "accord.sqlite3")),
            # Web and worker write at once: WAL + IMMEDIATE transactions avoid
            # "database is locked". mmap: reads come from the OS page cache instead of
            # a read() per page through SQLite's small cache.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    "PRAGMA mmap_size=2147483648;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The ledger's covering indexes (leads.LeadEvent) INCLUDE columns on Postgres; SQLite
# builds them as plain partial indexes, which is what its warning says.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Five wrong passwords for one user from one address lock that pair out for 15 minutes,
# even with the right password; both login pages (/accounts/login/, /admin/login/) count.
AXES_FAILURE_LIMIT = int(env("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = dt.timedelta(minutes=int(env("AXES_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The cool-off runs from the lockout: trying again meanwhile (the right password included)
# is refused unchecked, and does not start it over.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "config.security.login_client_ip"
# How many proxies of ours add to X-Forwarded-For in front of the web processes (0: none,
# the peer's address is the client's); never more, or a client could pick its address.
TRUSTED_PROXY_COUNT = int(env("TRUSTED_PROXY_COUNT", "0"))
# Password-reset posts per client address per hour.
PASSWORD_RESET_RATE = (int(env("PASSWORD_RESET_PER_HOUR", "5")), 3600)
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- I18N -----------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = VAR / "media"

# --- Cache ----------------------------------------------------------------
# Rate limits count in the cache, so every web process must see the same one: Redis in
# production (CACHE_URL, or else the broker's Redis), files under var/ on one machine.
CACHE_URL = env("CACHE_URL") or (
    env("CELERY_BROKER_URL", "") if env("CELERY_BROKER_URL", "").startswith("redis") else ""
)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "accord",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR / "cache"),
            "KEY_PREFIX": "accord",
            # Room for every live counter (the default culls at 300 entries).
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }

# --- Email ----------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "accord@localhost")
# Where django.core.mail.backends.filebased.EmailBackend writes, when EMAIL_BACKEND names it.
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(VAR / "mail"))
# A worker holds the notification emails it is sending this long; those of a worker that
# died mid-send are sent by the next run after it (notifications.services).
NOTIFICATION_EMAIL_LEASE_SECONDS = int(env("NOTIFICATION_EMAIL_LEASE_SECONDS", "600"))

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker = VAR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker / "queue"),
        "data_folder_out": str(_broker / "queue"),
        "processed_folder": str(_broker / "processed"),
        "control_folder": str(_broker / "control"),
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# The queue tasks go to and workers take them from: another name keeps apart two
# installations (or `bench load`'s processes) that share one Redis.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# No result backend: tasks record their outcome in our own models. Without
# results to expire, beat adds no "celery.backend_cleanup" schedule either.
CELERY_RESULT_EXPIRES = None

# --- Accord ---------------------------------------------------------------
# Links in notification emails start with this: by default the address `make run` serves
# and prints (its HOST and PORT reach every process it starts).
SITE_URL = env("SITE_URL") or f"http://{env('HOST', '127.0.0.1')}:{env('PORT', '8000')}"
IMPORT_MAX_UPLOAD_BYTES = int(env("IMPORT_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024)))
# Rows an import writes per transaction; a running import with no sign of life for this
# many seconds is stalled, and the sweeper (config/schedules.py) queues it again.
IMPORT_CHUNK_ROWS = int(env("IMPORT_CHUNK_ROWS", "5000"))
IMPORT_STALLED_AFTER = int(env("IMPORT_STALLED_AFTER", "300"))
# Uploaded lists are kept in the database, which every web process and worker reads; with
# IMPORT_S3_BUCKET set, in that S3-compatible bucket instead (pip install django-storages[s3]).
if env("IMPORT_S3_BUCKET"):
    if importlib.util.find_spec("storages") is None:
        raise ImproperlyConfigured(
            "IMPORT_S3_BUCKET is set but django-storages is not installed: "
            "pip install 'django-storages[s3]' (or: pip install -e '.[s3]')"
        )
    STORAGES["imports"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env("IMPORT_S3_BUCKET"),
            "endpoint_url": env("IMPORT_S3_ENDPOINT_URL") or None,
            "location": env("IMPORT_S3_PREFIX", "imports"),
            "file_overwrite": False,
        },
    }
# Reports get half the machine's cores: a report at a million leads keeps a core busy for
# seconds, and the other cores stay the reps'. REPORTS_AT_ONCE are worked out at once across
# every web process (0: no limit), each with the parallel workers its share of cores allows
# on Postgres (REPORT_PARALLEL_WORKERS; 1 core each by default); a report waits
# REPORT_WAIT_SECONDS for its turn before the page says the reports are busy.
REPORT_CORES = max(1, (os.cpu_count() or 2) // 2)
REPORTS_AT_ONCE = int(env("REPORTS_AT_ONCE", str(REPORT_CORES)))
REPORT_PARALLEL_WORKERS = int(
    env("REPORT_PARALLEL_WORKERS", str(max(0, REPORT_CORES // max(1, REPORTS_AT_ONCE) - 1)))
)
REPORT_WAIT_SECONDS = float(env("REPORT_WAIT_SECONDS", "60"))
# Clocks running out together (more than one batch due) are breached over this many
# Postgres connections side by side, one per core by default (SQLite: always one).
SLA_CHECK_CONNECTIONS = max(1, int(env("SLA_CHECK_CONNECTIONS", str(os.cpu_count() or 1))))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Off: import-export's own escaping only strips a leading "="; leads.resources escapes
# every exported cell with leads.spreadsheet.safe_cell, the sanitiser of every export.
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = False
# A control character a sheet cannot hold becomes U+FFFD in the admin's XLSX exports
# (import-export's default is to fail the export).
IMPORT_EXPORT_ESCAPE_ILLEGAL_CHARS_ON_EXPORT = True
# Web-to-lead: the largest body accepted, and posts per token per minute.
INTAKE_MAX_BODY_BYTES = int(env("INTAKE_MAX_BODY_BYTES", str(64 * 1024)))
INTAKE_RATE = (int(env("INTAKE_POSTS_PER_MINUTE", "60")), 60)

# --- REST API (api/) -----------------------------------------------------
# Integrations call it with a token (api.ApiToken), counted per token in the cache above.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.auth.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.auth.TokenRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
API_RATE = (int(env("API_REQUESTS_PER_MINUTE", "120")), 60)
# The change feed serves a lead's change once it is this old (see api.sync).
API_SYNC_SETTLE_SECONDS = int(env("API_SYNC_SETTLE_SECONDS", "60"))
SPECTACULAR_SETTINGS = {
    "TITLE": "Accord API",
    "DESCRIPTION": "Leads, activities and the suppression list for the CRM and marketing tools.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI from our own static files: the Content-Security-Policy allows no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security -------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Scripts only from our own static files (vendored htmx, Chart.js, Mermaid included): no
# inline script, no eval. Mermaid writes its diagram's styles inline, hence styles'
# 'unsafe-inline'; a style cannot run code.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Tests: a file-based SQLite database, so a real Celery worker process can share it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR / "test.sqlite3")}
