"""Himaya settings: one module, configured from the environment.

``HIMAYA_ENV`` is ``development`` (the default for ``make run``), ``test`` (set by the test
suite) or ``production``. Production refuses to start with development secrets.
See docs/deploy.md for every variable.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from himaya.core.env import env_bool, env_choice, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
REPO_DIR = BASE_DIR.parent.parent

HIMAYA_ENV = env_choice(
    "HIMAYA_ENV",
    "test" if "pytest" in sys.modules else "development",
    ("development", "test", "production"),
)
PRODUCTION = HIMAYA_ENV == "production"
TESTING = HIMAYA_ENV == "test"

VAR_DIR = Path(env_str("HIMAYA_VAR_DIR", str(REPO_DIR / "var")))
KEYS_DIR = Path(env_str("HIMAYA_KEYS_DIR", str(VAR_DIR / "keys")))
MEDIA_ROOT = Path(env_str("HIMAYA_MEDIA_DIR", str(VAR_DIR / "media")))

_DEV_SECRET = "development-only-secret-key-never-use-in-production-0123456789"  # noqa: S105  # nosec B105
SECRET_KEY = env_str("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "Set SECRET_KEY (at least 50 random characters) before running in production."
    )

DEBUG = env_bool("DEBUG", default=False)
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Our admin site: opens only to verified system administrators, no login form of its own.
    "himaya.accounts.admin_apps.HimayaAdminConfig",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks_db",
    "channels",
    "ninja",
    "himaya.core",
    "himaya.geo",
    "himaya.network",
    "himaya.accounts",
    "himaya.demo",
    "himaya.cases",
    "himaya.referrals",
    "himaya.justice",
    "himaya.portal",
]
if TESTING:
    # A test-only app with sealed fields (tests/sealedapp) for the encryption tests.
    INSTALLED_APPS.append("tests.sealedapp")

MIDDLEWARE = [
    "himaya.core.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "himaya.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: the signed-in user's preferred language is one of its inputs.
    "himaya.core.middleware.LanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "himaya.accounts.middleware.SessionPolicyMiddleware",
    # Fail closed: every URL not on its short public list needs password + TOTP.
    "himaya.accounts.middleware.StaffAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "himaya.urls"
WSGI_APPLICATION = "himaya.wsgi.application"
ASGI_APPLICATION = "himaya.asgi.application"

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
                "django.template.context_processors.i18n",
                "himaya.core.context_processors.shell",
                "himaya.accounts.context_processors.acting_membership",
            ],
        },
    }
]
# Django's widget templates, the common ones written in Python (core/form_renderer.py).
FORM_RENDERER = "himaya.core.form_renderer.WidgetRenderer"

# --- Database -----------------------------------------------------------------------------
# SQLite (WAL, busy timeout, immediate transactions) under var/ unless DATABASE_URL is set.
#
# No persistent connections (CONN_MAX_AGE=0): under ASGI each request's synchronous code runs
# in a thread of its own, and a connection kept for CONN_MAX_AGE stays open with the thread
# that opened it (nothing ever reuses or closes it): at a few dozen requests per second they
# exhausted PostgreSQL's max_connections within seconds. Django's advice for ASGI is what we
# do: close at the end of each request and let PostgreSQL connections come from psycopg's
# pool (DATABASE_POOL_SIZE per process; DATABASE_POOL=false to turn it off, e.g. behind
# PgBouncer). The test suite runs without the pool unless DATABASE_POOL=true (its databases
# are created and dropped under it). SQLite opens a file: nothing to pool.
DATABASE_URL = env_str("DATABASE_URL", "")
DATABASE_POOL = env_bool("DATABASE_POOL", not TESTING)
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 20, minimum=1)


def _pooled(database: Any) -> Any:
    if DATABASE_POOL and database["ENGINE"] == "django.db.backends.postgresql":
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": DATABASE_POOL_SIZE,
            "timeout": 20,
        }
    return database


if DATABASE_URL:
    DATABASES = {"default": _pooled(dj_database_url.parse(DATABASE_URL, conn_max_age=0))}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})
else:
    DATABASES = {
        "default": {
            "ENGINE": "himaya.core.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "himaya.sqlite3")),
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                # synchronous=FULL: an acknowledged write survives a power cut. No mmap_size:
                # tried at 1,000,000 cases, it gained nothing and read slower in places
                # (each request's new connection page-faults on every page it touches);
                # bench/README.md, session 4.
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON;"
                ),
            },
            # Django's own default for SQLite, said out loud: pytest-django knows an
            # in-memory test database by Django's engine name, and the engine is ours
            # (himaya.core.backends.sqlite3: writers of a process queue in the process).
            "TEST": {"NAME": ":memory:"},
        }
    }
_test_db_name = env_str("TEST_DATABASE_NAME", "")
if _test_db_name:
    DATABASES["default"]["TEST"] = {"NAME": _test_db_name}
# A streaming replica (PostgreSQL hot standby) for statistics reads; see docs/deploy.md.
# Ignored under the test suite, which runs on one database (the router has its own tests).
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL and not TESTING:
    DATABASES["replica"] = _pooled(dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=0))
    DATABASE_ROUTERS = ["himaya.core.db_routers.StatsReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts, MFA, sessions --------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Fast hashing in tests only; the production hasher is exercised by its own test.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("SESSION_ABSOLUTE_SECONDS", 8 * 3600, minimum=60)
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 15 * 60, minimum=30)
SESSION_ABSOLUTE_SECONDS = SESSION_COOKIE_AGE
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "himaya_session"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "himaya.core.views.csrf_failure"
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60, minimum=1)
# Failures from one client address (any usernames) before that address is refused for
# LOGIN_LOCKOUT_SECONDS: stops password spraying across accounts. Higher than the
# per-account limit because a whole unit may share one address.
LOGIN_ADDRESS_MAX_FAILURES = env_int("LOGIN_ADDRESS_MAX_FAILURES", 50, minimum=1)
# A TOTP code proved within this many seconds counts as "recent" for step-up actions.
STEP_UP_SECONDS = env_int("STEP_UP_SECONDS", 300, minimum=30)
OTP_TOTP_ISSUER = "Himaya"
# Referrals: hours a receiving agency has to answer, and hours after that deadline before an
# unanswered referral escalates from the unit chief to the central unit.
REFERRAL_ACCEPT_HOURS = env_int("REFERRAL_ACCEPT_HOURS", 24, minimum=1)
REFERRAL_ESCALATION_HOURS = env_int("REFERRAL_ESCALATION_HOURS", 24, minimum=1)
# Our own lockout (above) counts wrong codes per account and address; django-otp's extra
# per-device back-off would refuse a correct code typed a second after a typo.
OTP_TOTP_THROTTLE_FACTOR = 0

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "ar"
LANGUAGES = [
    ("ar", "العربية"),
    ("fr", "Français"),
    ("zgh", "ⵜⴰⵎⴰⵣⵉⵖⵜ"),
    ("en", "English"),
]
LANGUAGES_BIDI = ["ar"]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Africa/Casablanca"
LANGUAGE_COOKIE_NAME = "himaya_lang"
LANGUAGE_COOKIE_AGE = None  # a session cookie: nothing persists on a shared device
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Django has no formats for Amazigh (zgh); ours live here, the others stay Django's.
FORMAT_MODULE_PATH = ["himaya.core.formats"]

# --- Static files -------------------------------------------------------------------------
STATIC_URL = "/static/"
# The shell's stylesheet, scripts and vendored htmx live in src/himaya/static (not in an app).
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(REPO_DIR / "staticfiles")))
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
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- Security headers ---------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on form posts
# and Django's CSRF origin check refuses every form. Nothing leaks to other sites either way.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SECURE = PRODUCTION
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("TRUST_PROXY_SSL_HEADER", False) else None
)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
# Evidence uploads (cases.evidence) are held in memory up to this size, never spilled to a
# plaintext temporary file, then sealed; bigger files are refused with a message. Images over
# the pixel cap are refused before decoding (decompression bombs).
HIMAYA_EVIDENCE_MAX_BYTES = env_int("HIMAYA_EVIDENCE_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
HIMAYA_EVIDENCE_MAX_PIXELS = env_int("HIMAYA_EVIDENCE_MAX_PIXELS", 50_000_000, minimum=1_000_000)
# An intake interview left unfinished this many days is erased (its key crypto-shredded) by
# the scheduled sweep "cases.intake_drafts_expire" (manage.py run_schedule, docs/deploy.md).
HIMAYA_INTAKE_DRAFT_MAX_AGE_DAYS = env_int("HIMAYA_INTAKE_DRAFT_MAX_AGE_DAYS", 7, minimum=1)
# Under ASGI, Django reads the whole request body into a SpooledTemporaryFile that rolls over
# to a temporary file on disk past this size -- an evidence upload would touch the disk in
# plaintext. Kept above the largest body the proxy admits (Caddy: 25 MB, deploy/Caddyfile).
FILE_UPLOAD_MAX_MEMORY_SIZE = HIMAYA_EVIDENCE_MAX_BYTES + 5 * 1024 * 1024
# Number of proxies in front of the app whose X-Forwarded-For entries are trusted.
# 0 (the default) means the header is ignored entirely: it cannot reset a lockout.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- Survivor portal (/p/, docs/guides/portal.md) ------------------------------------------
# Emergency numbers on every portal page, as "number:kind" (kind: police, gendarmerie,
# helpline, ambulance). Numbers change: they are configuration, never code.
PORTAL_EMERGENCY_NUMBERS = env_list(
    "PORTAL_EMERGENCY_NUMBERS", ["19:police", "177:gendarmerie", "8350:helpline", "15:ambulance"]
)
# Where quick exit lands: an ordinary, busy site that says nothing about her.
PORTAL_EXIT_URL = env_str("PORTAL_EXIT_URL", "https://www.google.com/")
# The follow-up session (cookie "himaya_p", path /p/, no Max-Age): idle and absolute limits.
PORTAL_SESSION_IDLE_SECONDS = env_int("PORTAL_SESSION_IDLE_SECONDS", 10 * 60, minimum=60)
PORTAL_SESSION_ABSOLUTE_SECONDS = env_int("PORTAL_SESSION_ABSOLUTE_SECONDS", 60 * 60, minimum=60)
# Codename guessing: wrong codenames per codename (by its first words) and per client
# address within the window, before that codename / that client is refused for the window.
PORTAL_GUESS_WINDOW_SECONDS = env_int("PORTAL_GUESS_WINDOW_SECONDS", 60 * 60, minimum=60)
PORTAL_GUESSES_PER_CODENAME = env_int("PORTAL_GUESSES_PER_CODENAME", 5, minimum=1)
PORTAL_GUESSES_PER_CLIENT = env_int("PORTAL_GUESSES_PER_CLIENT", 10, minimum=1)
# Reports per client address per hour, and across the whole portal per hour; past the
# first a client must answer a question (or prove work); past the second, everyone must.
PORTAL_REPORTS_PER_CLIENT = env_int("PORTAL_REPORTS_PER_CLIENT", 3, minimum=1)
PORTAL_REPORTS_GLOBAL = env_int("PORTAL_REPORTS_GLOBAL", 300, minimum=1)
# Hard ceiling per client address per hour: refused (with the phone numbers) past this.
PORTAL_REPORTS_PER_CLIENT_MAX = env_int("PORTAL_REPORTS_PER_CLIENT_MAX", 20, minimum=1)
# A form filled faster than this (seconds) was not filled by a person.
PORTAL_MIN_FILL_SECONDS = env_int("PORTAL_MIN_FILL_SECONDS", 4, minimum=0)
# Whether she may add files (photos, certificates, screenshots) from the portal.
PORTAL_EVIDENCE_UPLOADS = env_bool("PORTAL_EVIDENCE_UPLOADS", True)
# Optional proof of work (only where JavaScript runs): leading zero bits of SHA-256.
PORTAL_POW_BITS = env_int("PORTAL_POW_BITS", 16, minimum=1)

# --- Notices to her (docs/architecture/notices.md) ----------------------------------------
# SMS provider: "file" (development/tests: var/sms/outbox.jsonl, synthetic data only),
# "http" (generic JSON POST to HIMAYA_SMS_URL with a bearer token), "none" (nothing is sent;
# the default in production until a provider is configured).
HIMAYA_SMS_BACKEND = env_choice(
    "HIMAYA_SMS_BACKEND", "none" if PRODUCTION else "file", ("file", "http", "none")
)
HIMAYA_SMS_FILE = env_str("HIMAYA_SMS_FILE", str(VAR_DIR / "sms" / "outbox.jsonl"))
HIMAYA_SMS_URL = env_str("HIMAYA_SMS_URL", "")
HIMAYA_SMS_TOKEN = env_str("HIMAYA_SMS_TOKEN", "")
# A neutral sender name (never the unit's or the police's): the abuser may read her phone.
HIMAYA_SMS_SENDER = env_str("HIMAYA_SMS_SENDER", "")
HIMAYA_SMS_TIMEOUT = env_int("HIMAYA_SMS_TIMEOUT", 10, minimum=1)
HIMAYA_SMS_MAX_ATTEMPTS = env_int("HIMAYA_SMS_MAX_ATTEMPTS", 3, minimum=1)
HIMAYA_SMS_INCLUDE_CODE_WORD = env_bool("HIMAYA_SMS_INCLUDE_CODE_WORD", default=True)
# Her safe hours when she gave none (Africa/Casablanca time).
HIMAYA_NOTICE_DEFAULT_HOURS = env_str("HIMAYA_NOTICE_DEFAULT_HOURS", "09:00-19:00")

# --- API tokens (docs/api.md) -------------------------------------------------------------
API_TOKEN_MAX_DAYS = env_int("API_TOKEN_MAX_DAYS", 90, minimum=1)
# Failed token attempts per client address before it is refused until the window ends.
API_AUTH_MAX_FAILURES = env_int("API_AUTH_MAX_FAILURES", 20, minimum=1)
API_AUTH_WINDOW_SECONDS = env_int("API_AUTH_WINDOW_SECONDS", 10 * 60, minimum=1)

# --- Keys ---------------------------------------------------------------------------------
# The master key lives outside the database: HIMAYA_MASTER_KEY (base64, 32 bytes) or a key
# file under KEYS_DIR created mode 0600 by `manage.py init_keys` in the embedded default.
HIMAYA_MASTER_KEY = env_str("HIMAYA_MASTER_KEY", "")
# The stable root of the blind-index and shred-ledger keys; required with HIMAYA_MASTER_KEY.
HIMAYA_BLIND_INDEX_KEY = env_str("HIMAYA_BLIND_INDEX_KEY", "")
HIMAYA_KEY_AUTOCREATE = env_bool("HIMAYA_KEY_AUTOCREATE", default=not PRODUCTION)
# Ed25519 key signing audit checkpoints (base64 of 32 bytes, or PEM). Empty: the file
# KEYS_DIR/audit-signing.ed25519 (created when HIMAYA_KEY_AUTOCREATE). See himaya.core.signing.
HIMAYA_AUDIT_SIGNING_KEY = env_str("HIMAYA_AUDIT_SIGNING_KEY", "")

# --- Background tasks ---------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": (
            "django.tasks.backends.immediate.ImmediateBackend"
            if TESTING
            else "django_tasks_db.DatabaseBackend"
        ),
    }
}

# --- Channels -----------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
_redis_layer_config: dict[str, object] = {"hosts": [REDIS_URL]}
if TESTING:
    # Parallel test processes (xdist workers, concurrent CI runs) share one Redis: a prefix of
    # their own keeps one process's group messages from reaching another's consumers.
    _redis_layer_config["prefix"] = f"himaya-test-{secrets.token_hex(4)}"
CHANNEL_LAYERS = {
    "default": (
        {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": _redis_layer_config}
        if REDIS_URL
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}

# --- Logging: never identifying data; request ids only ------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "himaya.core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's request logger prints the request line; our URLs carry no identifying
        # data, but 4xx noise is not useful either.
        "django.request": {"level": "ERROR"},
        "django.security.DisallowedHost": {"level": "ERROR"},
        # WeasyPrint narrates every rendering step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

ADMINS: list[tuple[str, str]] = []
