"""Django settings for tictac, read from the environment.

Every setting has a default that is safe for development on one machine;
production sets the ``DJANGO_*``, ``DATABASE_URL`` and ``REDIS_URL``
variables (see README.md).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from redis.driver_info import DriverInfo

# Lets classes such as ModelAdmin[Room] be subscripted at run time (for mypy's types).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or a random key kept in a private file beside the project.

    There is deliberately no key in the source: a key kept in a file is shared
    by every process on this machine (so sessions survive restarts and work
    across workers) without ever being the same on two installs.
    """
    key: str = env.str("DJANGO_SECRET_KEY", default="")
    if key:
        return key
    path = Path(env.str("DJANGO_SECRET_KEY_FILE", default=str(BASE_DIR / ".secret_key")))
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_urlsafe(50)
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
    return key


SECRET_KEY = _secret_key()
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # daphne first, so that `manage.py runserver` serves WebSockets too.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    # Locks out repeated failed admin logins (settings below).
    "axes",
    "game",
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
    "csp.middleware.CSPMiddleware",
    "tictac.headers.PermissionsPolicyMiddleware",
    "tictac.errors.RedisUnavailableMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tictac.urls"
# A decision, not a detail: every page view's synchronous code runs on the process's ONE database
# thread, the one the sockets' database calls use too (tictac.servers.one_thread drops Django's
# per-request ThreadSensitiveContext). Page views share its kept connection and take SQLite's write
# lock in turn instead of each opening a connection (6 ms) and sleeping on the busy handler (up to
# 100 ms); in exchange a slow view holds up every other view and every socket's move for as long as it
# runs, so views must stay a handful of indexed queries. docs/architecture.md, "One database thread".
ASGI_APPLICATION = "tictac.asgi.application"

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

# --- Database -------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}


def _tune_database(database: dict[str, Any]) -> None:
    # Keep connections: Channels closes "old" ones around every database call,
    # and opening one (with SQLite's PRAGMAs) cost more than the move itself.
    database["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=600)
    database["CONN_HEALTH_CHECKS"] = True
    if database["ENGINE"] == "django.db.backends.postgresql":
        # Django's pool (psycopg_pool) keeps connections for the management
        # commands and any thread besides the one database thread that page
        # views and sockets share (tictac.servers.one_thread); with it CONN_MAX_AGE
        # must be 0.
        database["CONN_MAX_AGE"] = 0
        database.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": env.int("DJANGO_DB_POOL_SIZE", default=10),
            "timeout": 10,
        }
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # Several processes write one file: WAL lets readers run beside the
        # writer, IMMEDIATE takes the write lock at BEGIN (so two writers queue
        # on the busy timeout instead of deadlocking on a lock upgrade).
        database.setdefault("OPTIONS", {}).update(
            {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            }
        )


_tune_database(DATABASES["default"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels -------------------------------------------------------------

# One Redis URL, or several separated by commas: the shards. The channel layer
# spreads its groups over them by a hash of the group's name, and presence and
# budgets put each key on the shard channels-redis would pick (game/realtime/shards.py).
# Every worker must be given the same list in the same order.
REDIS_URLS: list[str] = [url.strip() for url in env.list("REDIS_URL", default=["redis://127.0.0.1:6379/0"])]
if not REDIS_URLS or len(set(REDIS_URLS)) != len(REDIS_URLS) or "" in REDIS_URLS:
    raise ValueError(f"REDIS_URL must name one Redis or several different ones, comma-separated, not {REDIS_URLS!r}")
# "pubsub" (default), "core" (channels-redis's RedisChannelLayer) or "memory"
# (one process only, for experiments: presence and broadcasts stay in-process).
CHANNEL_LAYER = env.str("TICTAC_CHANNEL_LAYER", default="pubsub")
# Given to every Redis connection pool (the channel layer's and presence's).
# Without it redis-py reads its own version from the installed packages'
# metadata, a scan of site-packages, for every connection it opens: a
# 10-40 ms stall of the event loop each time a pool grew under load.
REDIS_DRIVER_INFO = DriverInfo()
# One entry per shard, in REDIS_URLS' order: the order is what the hash picks by.
_REDIS_HOSTS = [
    {
        "address": url,
        "max_connections": env.int("REDIS_MAX_CONNECTIONS", default=1000),
        "driver_info": REDIS_DRIVER_INFO,
    }
    for url in REDIS_URLS
]

CHANNEL_LAYERS: dict[str, dict[str, Any]]
if CHANNEL_LAYER == "memory":
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
elif CHANNEL_LAYER == "core":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": _REDIS_HOSTS,
                # The default capacity (100) is shared by every consumer of a
                # process; past it group_send silently drops messages.
                "capacity": 5000,
                "expiry": 30,
            },
        }
    }
elif CHANNEL_LAYER == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": _REDIS_HOSTS},
        }
    }
else:
    raise ValueError(f"TICTAC_CHANNEL_LAYER must be pubsub, core or memory, not {CHANNEL_LAYER!r}")

# --- Sessions, auth, security ----------------------------------------------

# Django's database sessions, minus the statements a page view does not need (game/storage/session_store.py).
SESSION_ENGINE = "game.storage.session_store"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The age of a session that took a seat or chatted (game.storage.session_lifetime.keep), and of an admin's.
SESSION_COOKIE_AGE = 60 * 60 * 24 * 365
# A visitor's session that has done neither expires this long after the page made it;
# `manage.py clearsessions` removes it afterwards (README, Operations).
TICTAC_IDLE_SESSION_SECONDS = env.int("TICTAC_IDLE_SESSION_SECONDS", default=60 * 60 * 24)
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Served over HTTPS (usually behind a TLS-terminating proxy): secure cookies,
# HSTS, and a redirect from plain HTTP.
HTTPS = env.bool("DJANGO_HTTPS", default=False)
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    # Both reach beyond this site (every subdomain; browsers' built-in lists, slow to
    # leave), so they are the operator's choice, off unless asked for.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz answers the load balancer, /metrics the scraper, over plain HTTP inside the network
    # (/metrics only to TICTAC_METRICS_ALLOW or with the token, below).
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    # `check --deploy` warns about both whenever they are off; off is the deliberate default here.
    SILENCED_SYSTEM_CHECKS = [
        *([] if SECURE_HSTS_INCLUDE_SUBDOMAINS else ["security.W005"]),
        *([] if SECURE_HSTS_PRELOAD else ["security.W021"]),
    ]

# Pages load scripts, styles and images from this origin only, open sockets to it, and are
# never framed. The only <script> without src is a type="application/json" data block
# (json_script), which CSP does not treat as script. 'self' covers ws:/wss: to this host in
# CSP Level 3 browsers.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Browser features no page uses (the room page writes the invite link to the clipboard, so
# clipboard-write stays allowed for this origin).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), payment=(), usb=()"
)

# Sign-in lockouts (django-axes, rules in game/web/lockouts.py): after this many failed sign-ins
# for one username from one address, that username is refused (429) from that address for the
# cool-off time, even with the right password; its owner elsewhere is not. The admin's sign-in
# is stricter: an address with this many failures, whatever the usernames, is refused there.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("TICTAC_LOGIN_FAILURE_LIMIT", default=5)
AXES_LOCKOUT_PARAMETERS = "game.web.lockouts.lockout_parameters"
AXES_COOLOFF_TIME = env.float("TICTAC_LOGIN_COOLOFF_HOURS", default=1.0)
AXES_RESET_ON_SUCCESS = True
# The client's address as game.web.access reads it (the proxy's X-Forwarded-For only when trusted).
AXES_CLIENT_IP_CALLABLE = "game.web.access.client_address"

# Players' optional accounts (game.web.account_views): the same lockout guards the site's sign-in.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# /metrics: served to these addresses (or networks), or to a request carrying
# "Authorization: Bearer <TICTAC_METRICS_TOKEN>" when a token is set; 403 to anyone else.
METRICS_ALLOW = env.list("TICTAC_METRICS_ALLOW", default=["127.0.0.1", "::1"])
METRICS_TOKEN = env.str("TICTAC_METRICS_TOKEN", default="")
# How many proxies in front append to X-Forwarded-For; 0 (default) trusts none of it and
# takes the address from the connection. nginx in docker-compose.yml is one.
TRUSTED_PROXY_COUNT = env.int("TICTAC_TRUSTED_PROXY_COUNT", default=0)
# Name the answering worker's host in an X-Served-By header (tictac.served_by): for checking a
# deployment of several workers (run.py deploy-check), off otherwise.
SERVED_BY = env.bool("TICTAC_SERVED_BY", default=False)

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

# --- Email -----------------------------------------------------------------

# What sends mail (password reset links): django-environ's email URL, e.g.
# smtp+tls://user:password@smtp.example.com:587 (STARTTLS), smtp+ssl://…:465, smtp://host:25;
# by default consolemail://, which writes each message to the server's output instead.
# Characters such as @ in the user or password are written %-encoded (%40).
_EMAIL = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _EMAIL["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _EMAIL["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _EMAIL["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _EMAIL.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _EMAIL.get("EMAIL_USE_SSL", False)
# Seconds an SMTP server may take to answer (Django waits for ever by default); mail is sent
# from a thread of its own (game/web/mailer.py), so this bounds only how long that thread is stuck.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="tictac <noreply@localhost>")

# --- Static files ---------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Serve straight from the source folders too, so that a server started
# without `collectstatic` (`daphne tictac.asgi:application`) still has its CSS and JS.
WHITENOISE_USE_FINDERS = True
# Re-read files on every request while developing, so edited JS and CSS are served whole.
WHITENOISE_AUTOREFRESH = env.bool("WHITENOISE_AUTOREFRESH", default=DEBUG)
# WhiteNoise's own table has no .wav: the room page's sounds would go out as octet-stream.
WHITENOISE_MIMETYPES = {".wav": "audio/wav"}

# --- Logging --------------------------------------------------------------

# "json" (one object a line, with fields such as room, session and code) or "plain".
LOG_FORMAT = env.str("DJANGO_LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        # channels-redis reports dropped messages (full channels) at INFO.
        "channels_redis": {"level": "INFO"},
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
    },
}

# --- tictac ---------------------------------------------------------------

TICTAC = {
    # Messages one socket may send per second (burst allowed: twice this).
    "MESSAGES_PER_SECOND": env.int("TICTAC_MESSAGES_PER_SECOND", default=20),
    # A socket's presence entry expires unless refreshed this often.
    "PRESENCE_TTL_SECONDS": env.int("TICTAC_PRESENCE_TTL_SECONDS", default=30),
    # Each process sends every room it has sockets in a heartbeat through the channel layer this
    # often; a page that hears nothing from its room's group for 2.5 times this says so.
    "HEARTBEAT_SECONDS": env.float("TICTAC_HEARTBEAT_SECONDS", default=10.0),
    # Largest text frame a client may send, in bytes (daphne_compat makes daphne refuse bigger
    # frames itself; uvicorn needs --ws-max-size 4096).
    "MAX_FRAME_BYTES": 4096,
    # A connection must send a request's complete headers within this many seconds or be closed
    # (uvicorn with tictac.servers.uvicorn_http, and daphne through daphne_compat; 0: no limit).
    "HEADER_TIMEOUT_SECONDS": env.float("TICTAC_HEADER_TIMEOUT_SECONDS", default=10.0),
    # And its body within this many seconds of the headers' end, or be answered 408 and closed
    # (the same two servers; 0: no limit). A whole-body deadline, not a minimum rate: every
    # form here is a few KB, so a rate would only let a big body crawl for longer.
    "BODY_TIMEOUT_SECONDS": env.float("TICTAC_BODY_TIMEOUT_SECONDS", default=10.0),
    # Open sockets allowed per room and per session (over all processes); more are closed with 4429.
    "MAX_SOCKETS_PER_ROOM": env.int("TICTAC_MAX_SOCKETS_PER_ROOM", default=1000),
    "MAX_SOCKETS_PER_SESSION": env.int("TICTAC_MAX_SOCKETS_PER_SESSION", default=20),
    # Room messages that may wait for one socket (a client reading too slowly) before it is
    # closed with 1013; Channels' own default channel capacity.
    "MAX_PENDING_MESSAGES": env.int("TICTAC_MAX_PENDING_MESSAGES", default=100),
    # Per client address (game.web.access: the proxy's X-Forwarded-For only with TICTAC_TRUSTED_PROXY_COUNT).
    # Room sockets open from one address over all processes, and lobby sockets in one process.
    "MAX_SOCKETS_PER_ADDRESS": env.int("TICTAC_MAX_SOCKETS_PER_ADDRESS", default=100),
    "MAX_LOBBY_SOCKETS_PER_ADDRESS": env.int("TICTAC_MAX_LOBBY_SOCKETS_PER_ADDRESS", default=10),
    # Messages all of one address's sockets in one process may send per second (bursts of twice that).
    "MESSAGES_PER_ADDRESS_PER_SECOND": env.int("TICTAC_MESSAGES_PER_ADDRESS_PER_SECOND", default=60),
    # Rooms one session may have waiting for a second player at once (made from the lobby).
    "MAX_WAITING_ROOMS_PER_CREATOR": env.int("TICTAC_MAX_WAITING_ROOMS_PER_CREATOR", default=3),
    # Games against the computer at once: per session, and per server process (its searches
    # share one worker process of their own, game.realtime.computer_turns).
    "MAX_BOT_GAMES_PER_SESSION": env.int("TICTAC_MAX_BOT_GAMES_PER_SESSION", default=2),
    "MAX_BOT_GAMES_PER_PROCESS": env.int("TICTAC_MAX_BOT_GAMES_PER_PROCESS", default=200),
    # Games against the computer on boards larger than 3×3 (whose moves are searched) one client
    # address plays at once in one process, and the searches that may wait for the search process
    # before no more such games are added (game.realtime.computer_turns; 3×3 is answered at once, outside both).
    "MAX_SEARCHED_BOT_GAMES_PER_ADDRESS": env.int("TICTAC_MAX_SEARCHED_BOT_GAMES_PER_ADDRESS", default=4),
    "MAX_QUEUED_SEARCHES": env.int("TICTAC_MAX_QUEUED_SEARCHES", default=16),
    # Quick play's seeks waiting at once from one client address, over every process (game.realtime.seeks):
    # a household or a school behind one address may seek together, a script may not fill the pools.
    "MAX_SEEKS_PER_ADDRESS": env.int("TICTAC_MAX_SEEKS_PER_ADDRESS", default=8),
    # Arena tournaments (game.actions.arena_rounds): how often each process with sockets on a tournament's page
    # runs its round (the one holding the lease pairs), and how long the lease outlives its holder.
    "ARENA_TICK_SECONDS": env.float("TICTAC_ARENA_TICK_SECONDS", default=1.0),
    "ARENA_LEASE_SECONDS": env.float("TICTAC_ARENA_LEASE_SECONDS", default=6.0),
    # Budgets over every process (game.realtime.budgets): (how many, per how many seconds).
    "BUDGETS": {
        "connect_per_address": (env.int("TICTAC_CONNECTS_PER_ADDRESS_PER_MINUTE", default=120), 60),
        "lobby_connect_per_address": (env.int("TICTAC_LOBBY_CONNECTS_PER_ADDRESS_PER_MINUTE", default=60), 60),
        "chat_per_address": (env.int("TICTAC_CHAT_PER_ADDRESS_PER_MINUTE", default=60), 60),
        "rooms_per_session": (env.int("TICTAC_ROOMS_PER_SESSION_PER_HOUR", default=20), 3600),
        "rooms_per_address": (env.int("TICTAC_ROOMS_PER_ADDRESS_PER_HOUR", default=60), 3600),
        # Quick play: presses of its button (POST /play/), and its waiting page's sockets.
        "seeks_per_session": (env.int("TICTAC_SEEKS_PER_SESSION_PER_HOUR", default=60), 3600),
        "seeks_per_address": (env.int("TICTAC_SEEKS_PER_ADDRESS_PER_HOUR", default=300), 3600),
        "seek_connects_per_address": (env.int("TICTAC_SEEK_CONNECTS_PER_ADDRESS_PER_MINUTE", default=60), 60),
        # Arena tournaments: presses of a tournament's join button (POST /tournaments/<id>/join/).
        "tournament_joins_per_session": (env.int("TICTAC_TOURNAMENT_JOINS_PER_SESSION_PER_HOUR", default=60), 3600),
        "tournament_joins_per_address": (env.int("TICTAC_TOURNAMENT_JOINS_PER_ADDRESS_PER_HOUR", default=300), 3600),
        # Password reset links asked for (each may send mail), whatever the address typed.
        "password_resets_per_address": (env.int("TICTAC_PASSWORD_RESETS_PER_ADDRESS_PER_HOUR", default=5), 3600),
        # Rows: sessions the room page makes for cookie-less visitors (past it they watch without
        # one), games started against the computer (POST /play/computer/, a room's add_computer),
        # accounts made.
        "new_sessions_per_address": (env.int("TICTAC_NEW_SESSIONS_PER_ADDRESS_PER_HOUR", default=60), 3600),
        "computer_games_per_address": (env.int("TICTAC_COMPUTER_GAMES_PER_ADDRESS_PER_HOUR", default=60), 3600),
        "signups_per_address": (env.int("TICTAC_SIGNUPS_PER_ADDRESS_PER_HOUR", default=10), 3600),
        # Analyses of finished games larger than 3×3 searched (GET /games/<id>/analysis.json, not the stored ones).
        "analyses_per_address": (env.int("TICTAC_ANALYSES_PER_ADDRESS_PER_HOUR", default=30), 3600),
    },
}
