"""MedSyn settings: one file, driven by environment variables.

With no environment at all the app runs on embedded defaults: a SQLite file,
a Celery broker on the local filesystem and the tiny demo model. `.env.example`
lists every variable read here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from medsyn_app.env import (
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MEDSYN_VAR_DIR", str(BASE_DIR / "var")))

MEDSYN_ENV = env_str("MEDSYN_ENV", "development")
PRODUCTION = MEDSYN_ENV == "production"

if PRODUCTION:
    SECRET_KEY = env_secret("SECRET_KEY")
    if not SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured(
            "MEDSYN_ENV=production needs a SECRET_KEY (or SECRET_KEY_FILE)"
            " of at least 50 characters"
        )
    DEBUG = False
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("MEDSYN_ENV=production needs ALLOWED_HOSTS")
else:
    SECRET_KEY = env_secret("SECRET_KEY") or "dev-only-insecure-key-not-for-production"
    # Django's debug pages only for developers who ask for them (DEBUG=1);
    # `make run` shows the app's own error pages.
    DEBUG = env_bool("DEBUG", False)
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "template_partials",
    "axes",
    "knox",
    "medsyn_app",
    "medsyn_app.audit",
    "medsyn_app.accounts",
    "synthesis",
    "synthesis.ingest",
    "review",
    "review.quality",
    "review.export",
    "review.items",
    "review.evalsets",
    "review.evaluation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "medsyn_app.audit.context.AuditOriginMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "medsyn_app.sessions.IdleTimeoutMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "medsyn_app.urls"
WSGI_APPLICATION = "medsyn_app.wsgi.application"

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
                "medsyn_app.roles.role_context",
            ],
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
CELERY_BROKER_URL_IS_LOCAL = CELERY_BROKER_URL == "filesystem://"
if not DATABASE_URL or CELERY_BROKER_URL_IS_LOCAL:
    # Embedded defaults keep their files under var/; make sure it exists.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL, base_dir=BASE_DIR)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "medsyn.sqlite3",
            # A file-backed test database lets a separate Celery worker process
            # see what the tests write.
            "TEST": {"NAME": VAR_DIR / "test-medsyn.sqlite3"},
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{_VALIDATORS}.MinimumLengthValidator"},
    {"NAME": f"{_VALIDATORS}.CommonPasswordValidator"},
    {"NAME": f"{_VALIDATORS}.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
# A ModelBackend that also reads the role groups with the user row (one query
# less on every page). It is the only backend, so a password is checked once.
# Axes first: a locked-out username and address is refused before any password
# is checked. Then a ModelBackend that also reads the role groups with the user
# row (one query less on every page); a password is checked once.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "medsyn_app.auth_backend.RoleBackend",
]
# Login protection (django-axes), on the form, Django admin and API basic auth:
# after this many failures for one username from one address, that pair is
# refused until the cool-off has passed. Lockouts go to the audit log.
AXES_FAILURE_LIMIT = env_int("MEDSYN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("MEDSYN_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Sessions end after this long without a request (sliding; see
# medsyn_app.sessions.IdleTimeoutMiddleware), and with the browser.
SESSION_COOKIE_AGE = env_int("MEDSYN_SESSION_IDLE_SECONDS", 8 * 3600)
# Password reset mails a link, so it is offered only when mail is set up.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "medsyn@localhost")
MEDSYN_PASSWORD_RESET_BY_EMAIL = bool(EMAIL_HOST)
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# MEDIA_ROOT is never served by URL; views check permissions and send files.
# Behind nginx, set this to its `internal` location (e.g. /protected-media/)
# so nginx sends the bytes (X-Accel-Redirect) instead of Django.
MEDSYN_ACCEL_REDIRECT_PREFIX = env_str("MEDSYN_ACCEL_REDIRECT_PREFIX", "")
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Outside production, WhiteNoise serves static files straight from the app
# folders, so the quick start needs no collectstatic (and works with DEBUG off).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
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
# Uploaded archives can be large; they stream to disk above this size.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
MEDSYN_MAX_UPLOAD_BYTES = env_int("MEDSYN_MAX_UPLOAD_BYTES", 2 * 1024**3)

REST_FRAMEWORK = {
    # Scripts use API tokens (hashed at rest; /accounts/tokens/). Basic auth
    # still works, behind the same lockout as the login form.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "knox.auth.TokenAuthentication",
        "medsyn_app.auth_backend.LockoutAwareBasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the browsable API's pages need inline code the CSP forbids,
    # and /api/docs/ documents every endpoint.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON bodies are bounded in size and nesting before they are decoded.
    "DEFAULT_PARSER_CLASSES": [
        "medsyn_app.api.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}

# Celery: Redis when CELERY_BROKER_URL is set, otherwise a broker on the local
# filesystem so a real worker process runs with no server installed.
if CELERY_BROKER_URL_IS_LOCAL:
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange bindings; kombu's default is ./control in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
else:
    # Longer than the longest chunk, so Redis never re-delivers live work.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 3600)
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_DEFAULT_QUEUE = "default"
# Model work goes to GPU workers; a batch may still name its own queue.
CELERY_TASK_ROUTES = {"synthesis.tasks.process_chunk": {"queue": "gpu"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The lease sweep re-queues synthesis chunks whose worker died.
CELERY_BEAT_SCHEDULE = {
    "sweep-expired-leases": {
        "task": "synthesis.tasks.sweep_expired_leases",
        "schedule": env_int("MEDSYN_LEASE_SWEEP_SECONDS", 60),
    },
    # Work saved while the broker was down is sent again once it answers.
    "requeue-waiting-exports": {
        "task": "review.tasks.requeue_waiting_exports",
        "schedule": env_int("MEDSYN_WAITING_SWEEP_SECONDS", 30),
    },
    "requeue-waiting-imports": {
        "task": "synthesis.tasks.requeue_waiting_imports",
        "schedule": env_int("MEDSYN_WAITING_SWEEP_SECONDS", 30),
    },
    "requeue-waiting-batches": {
        "task": "synthesis.tasks.requeue_waiting_batches",
        "schedule": env_int("MEDSYN_WAITING_SWEEP_SECONDS", 30),
    },
    # Dashboard figures follow decisions within seconds (review.quality.snapshots);
    # a run that could not start before the next one is dropped, not piled up.
    "refresh-quality-snapshots": {
        "task": "review.quality.tasks.refresh_stale_snapshots",
        "schedule": env_int("MEDSYN_QUALITY_REFRESH_SECONDS", 5),
        "options": {"expires": env_int("MEDSYN_QUALITY_REFRESH_SECONDS", 5)},
    },
}
# The queue synthesis chunks go to (GPU workers listen on it).
MEDSYN_SYNTHESIS_QUEUE = env_str("MEDSYN_SYNTHESIS_QUEUE", "gpu")
# Seconds after which a killed worker's endpoint slots (shared through Redis)
# come back to the other workers.
MEDSYN_SLOT_TTL_S = env_int("MEDSYN_SLOT_TTL_S", 30)
# Evaluation runs ask a model too: same workers by default.
MEDSYN_EVALUATION_QUEUE = env_str("MEDSYN_EVALUATION_QUEUE", "gpu")

# Model endpoints are operator configuration (medsyn_app/endpoints.py): a TOML
# or JSON file, or inline JSON; with neither, only the `demo` endpoint exists.
# Batches pick endpoints by name; these name each role's default.
MEDSYN_ENDPOINTS_FILE = env_str("MEDSYN_ENDPOINTS_FILE")
MEDSYN_ENDPOINTS = env_str("MEDSYN_ENDPOINTS")
MEDSYN_GENERATOR_ENDPOINT = env_str("MEDSYN_GENERATOR_ENDPOINT", "demo")
MEDSYN_VERIFIER_ENDPOINT = env_str("MEDSYN_VERIFIER_ENDPOINT", "demo")
MEDSYN_DEMO_MODEL_DIR = Path(
    env_str("MEDSYN_DEMO_MODEL_DIR", str(VAR_DIR / "models" / "tiny-qwen2_5-vl"))
)

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SECURE_CONTENT_TYPE_NOSNIFF = True
# Content-Security-Policy: scripts and styles only from this site's static
# files, no inline code and no eval (htmx is configured not to need it, in
# base.html). Images may be data:/blob: URLs (the review page's canvas).
_SELF = "'self'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF],
        "img-src": [_SELF, "data:", "blob:"],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "form-action": [_SELF],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
# Browser features no MedSyn page uses are switched off for every page.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media",
        "fullscreen", "geolocation", "gyroscope", "magnetometer", "microphone",
        "midi", "payment", "picture-in-picture", "publickey-credentials-get",
        "screen-wake-lock", "sync-xhr", "usb", "xr-spatial-tracking",
    )
}  # fmt: skip
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Lockouts are in the audit log; axes logs every successful login too.
        "axes": {"level": "WARNING"},
        # A line per model request (hundreds of thousands a batch) costs the
        # workers CPU and buries what matters; failures are stored on items.
        "urllib3": {"level": "WARNING"},
    },
}

# API tokens (django-rest-knox): only a hash is stored; a token is shown once.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env_int("MEDSYN_API_TOKEN_DAYS", 90)),
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": 20,
}

# The published API contract: /api/schema/ (OpenAPI 3) and /api/docs/ (Swagger
# UI served from this site: drf-spectacular-sidecar, no CDN).
SPECTACULAR_SETTINGS = {
    "TITLE": "MedSyn API",
    "DESCRIPTION": (
        "Synthesis batches, imports, clinician review, review quality and "
        "curated exports. Authenticate with `Authorization: Token <token>` "
        "(make one at /accounts/tokens/) or a browser session."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "BatchStatusEnum": "synthesis.models.BatchStatus",
        "ExportStatusEnum": "review.models.ExportStatus",
        "ImportJobStatusEnum": "synthesis.models.ImportJobStatus",
        "DecisionEnum": "review.models.Decision",
        "EvaluationStatusEnum": "review.evaluation.models.RunStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "medsyn_app.api.add_common_errors",
    ],
}
MEDSYN_API_MAX_JSON_BYTES = env_int("MEDSYN_API_MAX_JSON_BYTES", 1024 * 1024)
MEDSYN_API_MAX_JSON_DEPTH = env_int("MEDSYN_API_MAX_JSON_DEPTH", 32)
